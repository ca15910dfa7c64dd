/**
 * A slash command's text as its author typed it. Slack sends `&`, `<` and `>` as HTML
 * entities, and (the command asks Slack to escape users, channels and links, which
 * `incident commander @name` needs) a link as `<https://…|label>`, a channel as
 * `<#C…|name>` and a person as `<@U…|name>`. A link goes back to what was typed (its
 * label, else its address), a channel to `#name`, and a person to `<@U…>`, the one form
 * the grammar reads and the bot shows as a mention; what the bot shows of the text is
 * escaped again.
 */
export function typedText(text: string): string {
  return text
    .replace(/<((?:https?:\/\/|mailto:)[^|>]*)(?:\|([^>]*))?>/g, (_, target: string, label?: string) =>
      label ? label : target.replace(/^mailto:/, ''),
    )
    .replace(/<#[CG][A-Z0-9]+\|([^>]*)>/g, (_, name: string) => `#${name}`)
    .replace(/<@([UW][A-Z0-9]+)\|[^>]*>/g, '<@$1>')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
