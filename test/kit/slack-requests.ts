import {
  blockActionBody,
  signedHeaders,
  slashCommandBody as sandboxSlashCommandBody,
} from '../../sandbox/slack-requests';

// The sandbox builds exactly what Slack sends; tests use the same builders with terse defaults.
export { signedHeaders };

export interface SlashCommand {
  text: string;
  user: string;
  channel?: string;
  responseUrl?: string;
}

export function slashCommandBody(command: SlashCommand): string {
  return sandboxSlashCommandBody({
    command: '/azora',
    text: command.text,
    user: command.user,
    userName: command.user.toLowerCase(),
    channel: command.channel ?? 'C0AZORAOPS',
    channelName: 'ops',
    responseUrl: command.responseUrl ?? 'http://127.0.0.1:9/unused',
  });
}

export interface SlackPost {
  status: number;
  text: string;
  json(): unknown;
}

/** POSTs a body to the bot's Slack endpoint, signed with `secret` (or with headers the test forged). */
export async function postToSlackEndpoint(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<SlackPost> {
  const res = await fetch(`${url}/slack/events`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as unknown };
}

export function sendSlashCommand(url: string, secret: string, command: SlashCommand): Promise<SlackPost> {
  const body = slashCommandBody(command);
  return postToSlackEndpoint(url, body, signedHeaders(body, secret));
}

export interface ButtonClick {
  user: string;
  actionId: string;
  value?: string;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
}

export function buttonClickBody(click: ButtonClick): string {
  return blockActionBody({
    user: click.user,
    userName: click.user.toLowerCase(),
    channel: click.channel ?? 'C0AZORAOPS',
    channelName: 'ops',
    message: { ts: click.messageTs ?? '1.000001', text: '', blocks: [], ephemeral: false },
    button: {
      actionId: click.actionId,
      blockId: 'b',
      text: 'button',
      ...(click.value !== undefined ? { value: click.value } : {}),
    },
    responseUrl: click.responseUrl ?? 'http://127.0.0.1:9/unused',
  });
}

export function sendButtonClick(url: string, secret: string, click: ButtonClick): Promise<SlackPost> {
  const body = buttonClickBody(click);
  return postToSlackEndpoint(url, body, signedHeaders(body, secret));
}
