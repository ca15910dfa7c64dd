import { createHmac } from 'node:crypto';

/** Signs a body as Slack does: v0=HMAC-SHA256(secret, "v0:<timestamp>:<body>"). */
export function signedHeaders(
  body: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    // Bolt only form-decodes this exact content type; fetch's URLSearchParams adds a charset.
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${signature}`,
  };
}

export interface SlashCommand {
  text: string;
  user: string;
  channel?: string;
  responseUrl?: string;
}

export function slashCommandBody(command: SlashCommand): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0AZORA',
    team_domain: 'azora',
    channel_id: command.channel ?? 'C0AZORAOPS',
    channel_name: 'ops',
    user_id: command.user,
    user_name: command.user.toLowerCase(),
    command: '/azora',
    text: command.text,
    api_app_id: 'A0AZORA',
    is_enterprise_install: 'false',
    response_url: command.responseUrl ?? 'http://127.0.0.1:9/unused',
    trigger_id: `trigger-${Date.now()}`,
  }).toString();
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

/** A block_actions payload as Slack sends it for a button press: a form field holding JSON. */
export function buttonClickBody(click: ButtonClick): string {
  const channel = click.channel ?? 'C0AZORAOPS';
  const payload = {
    type: 'block_actions',
    user: {
      id: click.user,
      username: click.user.toLowerCase(),
      name: click.user.toLowerCase(),
      team_id: 'T0AZORA',
    },
    api_app_id: 'A0AZORA',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: click.messageTs ?? '1.000001',
      channel_id: channel,
      is_ephemeral: false,
    },
    trigger_id: `trigger-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    team: { id: 'T0AZORA', domain: 'azora' },
    channel: { id: channel, name: 'ops' },
    message: { type: 'message', ts: click.messageTs ?? '1.000001', text: '' },
    response_url: click.responseUrl ?? 'http://127.0.0.1:9/unused',
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: 'b',
        value: click.value ?? '',
        text: { type: 'plain_text', text: 'button' },
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function sendButtonClick(url: string, secret: string, click: ButtonClick): Promise<SlackPost> {
  const body = buttonClickBody(click);
  return postToSlackEndpoint(url, body, signedHeaders(body, secret));
}
