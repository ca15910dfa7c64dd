import { createHash } from 'node:crypto';
import type { SimulatedMessage, SimulatedSlack } from '../../sandbox/slack-api';
import type { Bot } from '../../src/runtime';
import type { RequestStore } from '../../src/requests/store';
import { waitFor } from './wait';
import { actionId } from '../../src/kernel/slack/actions';
import { sendButtonClick, type SlackPost } from './slack-requests';
import { APPROVER, OPS } from './ids';

/** What a test needs to find a change request in a simulated Slack and follow it to its end. */
export interface RequestRef {
  id: string;
  ts: string;
  message: SimulatedMessage;
}

/** The parent message of the request whose text contains `fragment`, and its request id. */
export async function requestIn(
  slack: SimulatedSlack,
  fragment: string,
  timeoutMs = 10_000,
): Promise<RequestRef> {
  const message = (await waitFor(
    () => slack.messages.find((m) => !m.visibleTo && m.text.startsWith('<@') && m.text.includes(fragment)),
    (m) => m !== undefined,
    { what: `a request message containing ${fragment}`, timeoutMs },
  ))!;
  const id = /Request `(r[0-9a-f]{8})`/.exec(JSON.stringify(message.blocks))?.[1];
  if (!id) throw new Error(`no request id in ${JSON.stringify(message.blocks)}`);
  return { id, ts: message.ts, message };
}

/**
 * Waits until the request is stored and waiting for approval. plan-request posts the
 * message with the buttons before it stores the request, and a click in between is
 * refused as "not known", so a test that clicks at once must wait for the store first.
 */
export async function untilPendingApproval(requests: RequestStore, id: string): Promise<void> {
  await waitFor(
    async () => (await requests.get(id))?.status,
    (status) => status === 'pending-approval',
    { what: `request ${id} stored and waiting for approval` },
  );
}

/** The progress reply of a request: the first bot reply in its thread that starts with an emoji. */
/** A bot as the tests reach it: its URL and signing secret, its simulated Slack, its stores. */
export interface ReachableBot {
  url: string;
  secret: string;
  slack: SimulatedSlack;
  bot: Bot;
}

/** Someone presses Approve on a request once it waits for approval; resolves to the HTTP answer. */
export async function pressApprove(
  t: ReachableBot,
  request: RequestRef | { id: string; ts: string },
  user = APPROVER,
  channel = OPS,
): Promise<SlackPost> {
  await untilPendingApproval(t.bot.deps.requests, request.id);
  return sendButtonClick(t.url, t.secret, {
    user,
    actionId: actionId('approve', request.id),
    value: request.id,
    channel,
    messageTs: request.ts,
    responseUrl: t.slack.responseUrl(channel, user),
  });
}

export const progressOf = (slack: SimulatedSlack, parentTs: string): SimulatedMessage | undefined =>
  slack.messages.find((m) => m.threadTs === parentTs && m.text.startsWith(':'));

const FINAL = /^:(large_green_circle|red_circle|no_entry_sign|warning):/;

/** Waits until the request's progress reply shows a final state; resolves to its text. */
export function finalProgressOf(
  slack: SimulatedSlack,
  parentTs: string,
  timeoutMs = 15_000,
): Promise<string> {
  return waitFor(
    () => progressOf(slack, parentTs)?.text ?? '',
    (text) => FINAL.test(text),
    { what: 'the progress message to reach a final state', timeoutMs },
  );
}

/** POSTs an Alertmanager notification to a bot's webhook; resolves to the HTTP status. */
export async function postNotification(baseUrl: string, token: string, body: unknown): Promise<number> {
  const res = await fetch(`${baseUrl}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A version-4 Alertmanager notification of one firing alert, as its webhook sends it. */
export function firingNotification(
  alertname: string,
  labels: Record<string, string>,
  summary: string,
  startsAt = new Date().toISOString(),
) {
  const all = { alertname, ...labels };
  const groupKey = `{}:{alertname="${alertname}", service="${labels.service ?? ''}"}`;
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'webhook',
    groupLabels: { alertname, ...(labels.service ? { service: labels.service } : {}) },
    commonLabels: all,
    commonAnnotations: { summary },
    externalURL: 'http://alertmanager.invalid',
    alerts: [
      {
        status: 'firing',
        labels: all,
        annotations: { summary },
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: createHash('sha256').update(groupKey).digest('hex').slice(0, 16),
      },
    ],
  };
}

type Notification = ReturnType<typeof firingNotification>;

/** The same notification with its alerts resolved. */
export const resolvedNotification = (n: Notification): Notification => ({
  ...n,
  status: 'resolved',
  alerts: n.alerts.map((a) => ({ ...a, status: 'resolved' })),
});

/** The same alerts firing again (a start of now): a new episode once they had resolved. */
export const firedAgain = (n: Notification): Notification => ({
  ...n,
  alerts: n.alerts.map((a) => ({ ...a, startsAt: new Date().toISOString() })),
});

/**
 * Until the bot has done everything it was given for alerts: no notification waiting or
 * being handled in the alert inbox (nor an earlier version's alert job), and no Slack
 * write left in the outbox. A duplicate on its way would be one of these, so a test can
 * then count threads and know nothing more is coming.
 */
export async function untilSettled(bot: Bot): Promise<void> {
  await waitFor(
    async () =>
      (await bot.deps.alertInbox.size()) +
      (await bot.queues.get('alerts').getJobCountByTypes('wait', 'active', 'prioritized', 'delayed')) +
      (await bot.deps.outbox.pending()),
    (left) => left === 0,
    { what: 'the alert notifications and Slack writes to be done', timeoutMs: 20_000 },
  );
}
