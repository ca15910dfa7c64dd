import type { KnownBlock } from '@slack/types';

/** A message as the bot sends it: `text` is the notification and screen-reader fallback. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export const section = (markdown: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: markdown },
});

export const context = (...markdown: string[]): KnownBlock => ({
  type: 'context',
  elements: markdown.map((text) => ({ type: 'mrkdwn', text })),
});

export const divider = (): KnownBlock => ({ type: 'divider' });

/** Slack escapes only these three in mrkdwn; anything a user typed goes through here. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
