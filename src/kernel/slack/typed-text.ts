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

/**
 * A message's Slack markup as the words a reader saw: typedText's links, channels and
 * people, plus dates as their fallback text, user groups and broadcasts by name
 * (`@channel`). For text the bot keeps and shows again (a pinned message in an incident's
 * timeline, a plan in the audit trail), which is escaped again when shown.
 */
export function plainText(markup: string): string {
  return typedText(
    markup
      .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
      .replace(/<!subteam\^[A-Z0-9]+\|([^>]*)>/g, '$1')
      .replace(/<!subteam\^([A-Z0-9]+)>/g, '@$1')
      .replace(/<!(channel|here|everyone)(?:\|[^>]*)?>/g, '@$1')
      .replace(/<#([CG][A-Z0-9]+)>/g, '#$1'),
  );
}
