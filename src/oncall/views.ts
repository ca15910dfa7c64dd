import { bold, joinText, md, message, note, section, type SlackMessage } from '../kernel/slack/blocks';

/** One on-call entry, as the rota knows it (the shape of PagerDuty's OnCall, declared here for the view). */
export interface OnCallShift {
  user: string;
  email?: string;
  schedule?: string;
  escalationPolicy: string;
  /** The escalation policy's id, as a policy names it (`incidents.escalationPolicies`). */
  escalationPolicyId: string;
  level: number;
  /** End of this shift (ISO 8601); absent for a permanent assignment. */
  until?: string;
}

export function oncallMessage(oncall: OnCallShift[]): SlackMessage {
  if (oncall.length === 0) return note('Nobody is on call in PagerDuty right now.');
  const byPolicy = new Map<string, OnCallShift[]>();
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
