import type { AccessVerdict } from './domain/rules';
import { formatDuration } from '../kernel/domain/duration';
import type { RateLimit } from './gate';
import { channelRef, joinText, md, mention, note, type SlackMessage } from '../kernel/slack/blocks';

type Denied = Extract<AccessVerdict, { ok: false }>;

/** Who can, as mentions: the person refused knows whom to ask. */
function whoCan(verdict: Denied): string | ReturnType<typeof md> {
  if (verdict.who.everyone) return 'everyone';
  if (verdict.who.ids.length === 0) return 'nobody (the policy lists no one)';
  return joinText(verdict.who.ids.map(mention), ', ');
}

/** An access refusal: what is missing, who can, and that nothing changed. */
export function accessRefusal(verdict: Denied): SlackMessage {
  return note(
    md`:no_entry: Not allowed: ${verdict.reason}. Who can: ${whoCan(verdict)}. Nothing was changed.`,
  );
}

/** A command for an environment from a channel its policy does not list. */
export function channelRefusal(verdict: Denied, channels: string[]): SlackMessage {
  const where = channels.length ? joinText(channels.map(channelRef), ', ') : 'no channel';
  return note(md`:no_entry: Not here: ${verdict.reason}; use ${where}. Nothing was changed.`);
}

const LIMIT_WORDS: Record<RateLimit | 'follows', string> = {
  commands: 'commands',
  changes: 'change requests',
  follows: 'log follows at once',
};

export function slowDown(limit: RateLimit | 'follows', retryInMs: number): SlackMessage {
  const wait = formatDuration(Math.ceil(retryInMs / 1_000) * 1_000);
  return note(
    md`:turtle: Slow down: you reached your limit of ${LIMIT_WORDS[limit]} (policy: limits). Try again in ${wait}. Nothing was changed.`,
  );
}
