import type { OnCall } from '../kernel/domain/oncall';
import { bold, joinText, md, message, note, section, type SlackMessage } from '../kernel/slack/blocks';

export function oncallMessage(oncall: OnCall[]): SlackMessage {
  if (oncall.length === 0) return note('Nobody is on call in PagerDuty right now.');
  const byPolicy = new Map<string, OnCall[]>();
  for (const entry of oncall)
    byPolicy.set(entry.escalationPolicy, [...(byPolicy.get(entry.escalationPolicy) ?? []), entry]);
  // PagerDuty's names are outside text: escaped.
  const lines = [...byPolicy].map(([policy, entries]) => {
    const people = entries.map(
      (e) =>
        md`• level ${e.level}: ${e.user}${e.schedule ? ` (${e.schedule})` : ''}${e.until ? ` until ${e.until}` : ''}`,
    );
    return md`${bold(policy)}\n${joinText(people, '\n')}`;
  });
  return message(
    `On call: ${oncall.map((e) => `${e.user} (level ${e.level})`).join(', ')}`,
    lines.map(section),
  );
}
