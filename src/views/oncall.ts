import type { OnCall } from '../adapters/pagerduty';
import { section, type SlackMessage } from './blocks';

export function oncallMessage(oncall: OnCall[]): SlackMessage {
  if (oncall.length === 0)
    return {
      text: 'Nobody is on call in PagerDuty right now.',
      blocks: [section('Nobody is on call in PagerDuty right now.')],
    };
  const byPolicy = new Map<string, OnCall[]>();
  for (const entry of oncall)
    byPolicy.set(entry.escalationPolicy, [...(byPolicy.get(entry.escalationPolicy) ?? []), entry]);
  const lines = [...byPolicy].map(
    ([policy, entries]) =>
      `*${policy}*\n` +
      entries
        .map(
          (e) =>
            `• level ${e.level}: ${e.user}${e.schedule ? ` (${e.schedule})` : ''}${e.until ? ` until ${e.until}` : ''}`,
        )
        .join('\n'),
  );
  return {
    text: `On call: ${oncall.map((e) => `${e.user} (level ${e.level})`).join(', ')}`,
    blocks: lines.map(section),
  };
}
