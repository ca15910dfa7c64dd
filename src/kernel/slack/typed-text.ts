/**
 * A slash command's text as its author typed it. Slack sends `&`, `<` and `>` as HTML
 * entities, and (the command asks Slack to escape users, channels and links, which
 * `incident commander @name` needs) a link as `<https://…|label>` or `<mailto:…|label>`:
 * a link goes back to its address. Mentions (`<@U…>`, `<#C…>`, `<!here>`) keep Slack's
 * form, which the grammar reads; what the bot shows of the text is escaped again.
 */
export function typedText(text: string): string {
  return text
    .replace(/<((?:https?:\/\/|mailto:)[^|>]*)(?:\|[^>]*)?>/g, (_, target: string) =>
      target.replace(/^mailto:/, ''),
    )
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
