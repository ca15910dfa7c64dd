/**
 * Every interactive button's `action_id`, built and parsed here only: a renamed button
 * cannot silently stop reaching its handler. Ids look like `azora:<kind>:<subject>`.
 */
export const ACTION_KINDS = [
  'approve',
  'deny',
  'switch-back',
  'ack',
  'silence',
  'unsilence',
  'runbook-rollback',
  'runbook-switch-back',
  'runbook-scale-up',
  'runbook-logs',
  'runbook-link',
  'close-window',
  'declare-incident',
  'graph',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export interface ActionRef {
  kind: ActionKind;
  /** What the button acts on: a request id, or an alert group id. */
  subject: string;
}

const PREFIX = 'azora';

export function actionId(kind: ActionKind, subject: string): string {
  return `${PREFIX}:${kind}:${subject}`;
}

export function parseActionId(id: string): ActionRef | undefined {
  const [prefix, kind, ...rest] = id.split(':');
  const subject = rest.join(':');
  if (prefix !== PREFIX || !subject || !ACTION_KINDS.includes(kind as ActionKind)) return undefined;
  return { kind: kind as ActionKind, subject };
}

/** What Bolt routes on: every action id of the bot. */
export const ACTION_PATTERN = new RegExp(`^${PREFIX}:`);
