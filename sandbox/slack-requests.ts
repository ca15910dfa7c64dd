import { createHmac } from 'node:crypto';

/**
 * What Slack itself sends to the bot: slash commands and button clicks as signed forms.
 * The sandbox workspace builds its requests here, so a click in the browser reaches the bot
 * exactly as one from Slack would, signature check included.
 */

export const SANDBOX_TEAM = { id: 'T0AZORA', domain: 'azora' } as const;
const APP_ID = 'A0AZORA';
// Slack stopped relying on it, but still sends it; Bolt ignores it.
const VERIFICATION_TOKEN = 'deprecated-verification-token';

/** v0 signature: HMAC-SHA256(secret, "v0:<timestamp>:<body>"), with the headers Bolt checks. */
export function signedHeaders(
  body: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    // Bolt form-decodes only this exact content type; a charset suffix makes it try JSON.
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${signature}`,
  };
}

export interface SlashCommandRequest {
  command: string;
  text: string;
  user: string;
  userName: string;
  channel: string;
  channelName: string;
  responseUrl: string;
}

export function slashCommandBody(c: SlashCommandRequest): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM.id,
    team_domain: SANDBOX_TEAM.domain,
    channel_id: c.channel,
    channel_name: c.channelName,
    user_id: c.user,
    user_name: c.userName,
    command: c.command,
    text: c.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: triggerId(),
  }).toString();
}

/** The clicked element, as it appears in the message's blocks. */
export interface ClickedButton {
  actionId: string;
  blockId: string;
  text: string;
  value?: string;
  url?: string;
  style?: string;
}

export interface BlockActionRequest {
  user: string;
  userName: string;
  channel: string;
  channelName: string;
  message: { ts: string; threadTs?: string; text: string; blocks: unknown[]; ephemeral: boolean };
  button: ClickedButton;
  responseUrl: string;
}

/** A block_actions interaction: Slack sends it as one form field, `payload`, holding JSON. */
export function blockActionBody(c: BlockActionRequest): string {
  const now = Date.now() / 1000;
  const payload = {
    type: 'block_actions',
    user: { id: c.user, username: c.userName, name: c.userName, team_id: SANDBOX_TEAM.id },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: c.message.ts,
      channel_id: c.channel,
      is_ephemeral: c.message.ephemeral,
      ...(c.message.threadTs ? { thread_ts: c.message.threadTs } : {}),
    },
    trigger_id: triggerId(),
    team: { ...SANDBOX_TEAM },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: c.channel, name: c.channelName },
    // Slack leaves the message out of clicks on ephemeral messages.
    ...(c.message.ephemeral
      ? {}
      : {
          message: {
            type: 'message',
            ts: c.message.ts,
            text: c.message.text,
            blocks: c.message.blocks,
            ...(c.message.threadTs ? { thread_ts: c.message.threadTs } : {}),
          },
        }),
    state: { values: {} },
    response_url: c.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: c.button.actionId,
        block_id: c.button.blockId,
        text: { type: 'plain_text', text: c.button.text, emoji: true },
        ...(c.button.value !== undefined ? { value: c.button.value } : {}),
        ...(c.button.url !== undefined ? { url: c.button.url } : {}),
        ...(c.button.style !== undefined ? { style: c.button.style } : {}),
        action_ts: now.toFixed(6),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.sandbox`;
}
