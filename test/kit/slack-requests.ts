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
