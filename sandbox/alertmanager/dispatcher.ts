import type { Logger } from '../../src/kernel/log';
import { fingerprint, groupKeyOf, webhookNotification, type PushedAlert } from '../alerts';
import { ApiError } from './http';

/**
 * The alerts part of the built-in Alertmanager: POST /api/v2/alerts, grouped by
 * alertname, namespace and service, held back by active silences and sent to one webhook
 * receiver in Alertmanager's version-4 shape. It follows Alertmanager 0.25's pipeline in
 * what the bot can see: silenced alerts (resolved ones too) are dropped before anything is
 * sent; a group is sent again only when its firing set grows, or some of its alerts resolve;
 * a resolved alert leaves its group once a flush has seen it. It sends no repeats and
 * resolves nothing on its own (an alert pushed without endsAt fires until it is resolved).
 */

export interface WebhookReceiver {
  /** The bot's POST /alertmanager. */
  url: string;
  /** Sent as `Authorization: Bearer …`, as `http_config.authorization` has Alertmanager do. */
  token: string;
}

export interface DispatcherOptions {
  clock: () => number;
  /** The ids of the active silences that hold this label set back. */
  silencedBy: (labels: Record<string, string>) => string[];
  /** The externalURL of the notifications. */
  externalUrl: () => string;
  logger?: Logger;
  /** How often every group is looked at again (a silence that ended lets its alerts out). */
  groupIntervalMs?: number;
  /** Between attempts at a webhook that failed. */
  retryMs?: number;
}

interface StoredAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  endsAt?: number;
  generatorURL: string;
}

/** What the last notification of a group held, by fingerprint: Alertmanager's notification log. */
interface Sent {
  firing: Set<string>;
  resolved: Set<string>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const GROUP_INTERVAL_MS = 1_000;
const RETRY_MS = 500;
const ATTEMPTS = 5;
const SEND_TIMEOUT_MS = 5_000;

export class AlertDispatcher {
  private readonly alerts = new Map<string, StoredAlert>();
  private readonly sent = new Map<string, Sent>();
  /** Each group's flushes, one after the other; a group already waiting for one is not queued twice. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly queued = new Set<string>();
  private receiver: WebhookReceiver | undefined;
  private readonly ticker: NodeJS.Timeout;
  private readonly stopping = new AbortController();

  constructor(private readonly options: DispatcherOptions) {
    this.ticker = setInterval(() => this.reconsider(), options.groupIntervalMs ?? GROUP_INTERVAL_MS);
    this.ticker.unref();
  }

  /** Where notifications go from now on; the alerts held for want of a receiver go out. */
  deliverTo(receiver: WebhookReceiver): void {
    this.receiver = receiver;
    this.reconsider();
  }

  /**
   * POST /api/v2/alerts: the valid alerts are kept even when others in the same body are
   * refused (as Alertmanager does); their groups are flushed after the answer.
   */
  post(body: unknown): void {
    const { valid, errors } = postableAlerts(body, this.options.clock());
    const groups = new Set<string>();
    for (const alert of valid) {
      const fp = fingerprint(alert.labels);
      const old = this.alerts.get(fp);
      // A push for an alert that still fires continues its episode: the earliest start stays.
      const merged =
        old && !this.isResolved(old) ? { ...alert, startsAt: Math.min(old.startsAt, alert.startsAt) } : alert;
      this.alerts.set(fp, merged);
      groups.add(groupKeyOf(alert.labels));
    }
    for (const key of groups) this.schedule(key);
    if (errors.length > 0) throw new ApiError(400, errors.join(';'));
  }

  /** Ends retries and waits (out) what is being sent. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.stopping.abort();
    await Promise.all(this.chains.values());
  }

  /** Every group looked at again: what a silence that ended held back goes out. */
  reconsider(): void {
    for (const key of new Set([...this.alerts.values()].map((a) => groupKeyOf(a.labels)))) this.schedule(key);
  }

  private schedule(key: string): void {
    if (this.queued.has(key) || this.stopping.signal.aborted) return;
    this.queued.add(key);
    const chain = (this.chains.get(key) ?? Promise.resolve())
      .then(() => {
        this.queued.delete(key);
        return this.flush(key);
      })
      .catch((err: unknown) =>
        this.options.logger?.warn(
          { err: (err as Error).message, group: key },
          'sandbox alertmanager: flush failed',
        ),
      );
    this.chains.set(key, chain);
    void chain.then(() => {
      if (this.chains.get(key) === chain) this.chains.delete(key);
    });
  }

  private async flush(key: string): Promise<void> {
    const receiver = this.receiver;
    if (!receiver || this.stopping.signal.aborted) return;
    const members = [...this.alerts.entries()].filter(([, a]) => groupKeyOf(a.labels) === key);
    if (members.length === 0) return;
    const shown = members.filter(([, a]) => this.options.silencedBy(a.labels).length === 0);
    const firing = new Set(shown.filter(([, a]) => !this.isResolved(a)).map(([fp]) => fp));
    const resolved = new Set(shown.filter(([, a]) => this.isResolved(a)).map(([fp]) => fp));
    let done = true;
    if (shown.length > 0 && needsUpdate(this.sent.get(key), firing, resolved)) {
      done = await this.send(
        receiver,
        shown.map(([, a]) => this.pushed(a)),
      );
      if (done) this.sent.set(key, { firing, resolved });
    }
    if (!done) return;
    // A resolved alert the flush has seen leaves its group, unless it fired again meanwhile.
    for (const [fp, alert] of members) {
      if (this.isResolved(alert) && this.alerts.get(fp) === alert) this.alerts.delete(fp);
    }
  }

  private async send(receiver: WebhookReceiver, alerts: PushedAlert[]): Promise<boolean> {
    const notification = webhookNotification(alerts, this.options.externalUrl());
    for (let attempt = 1; attempt <= ATTEMPTS && !this.stopping.signal.aborted; attempt++) {
      try {
        const res = await fetch(receiver.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${receiver.token}` },
          body: JSON.stringify(notification),
          signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
        });
        const text = await res.text();
        if (res.ok) return true;
        this.options.logger?.warn(
          { status: res.status, body: text.slice(0, 200), attempt },
          'sandbox alertmanager: the webhook refused a notification',
        );
      } catch (err) {
        if (this.stopping.signal.aborted) return false;
        this.options.logger?.warn(
          { err: (err as Error).message, attempt },
          'sandbox alertmanager: the webhook did not take a notification',
        );
      }
      if (attempt < ATTEMPTS) await this.pause(this.options.retryMs ?? RETRY_MS);
    }
    return false;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.stopping.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private isResolved(alert: StoredAlert): boolean {
    return alert.endsAt !== undefined && alert.endsAt <= this.options.clock();
  }

  private pushed(alert: StoredAlert): PushedAlert {
    return {
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: new Date(alert.startsAt).toISOString(),
      ...(this.isResolved(alert) ? { endsAt: new Date(alert.endsAt!).toISOString() } : {}),
      generatorURL: alert.generatorURL,
    };
  }
}

/**
 * Alertmanager's DedupStage with send_resolved and no repeats: a group is sent when it
 * has never been and something fires, when something fires that the last notification did
 * not have, when all that fired has resolved, or when more has resolved than last time.
 */
function needsUpdate(last: Sent | undefined, firing: Set<string>, resolved: Set<string>): boolean {
  if (!last) return firing.size > 0;
  if (![...firing].every((fp) => last.firing.has(fp))) return true;
  if (firing.size === 0) return last.firing.size > 0;
  return ![...resolved].every((fp) => last.resolved.has(fp));
}

/** The PostableAlerts of a body, checked as Alertmanager 0.25 checks them, with its messages. */
function postableAlerts(body: unknown, now: number): { valid: StoredAlert[]; errors: string[] } {
  const unparsable = (why: string) =>
    new ApiError(400, { code: 400, message: `parsing alerts body from "" failed, because ${why}` });
  if (!Array.isArray(body))
    throw unparsable('json: cannot unmarshal object into Go value of type models.PostableAlerts');
  const valid: StoredAlert[] = [];
  const errors: string[] = [];
  body.forEach((raw: unknown, i) => {
    const a = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof a.labels !== 'object' || a.labels === null) {
      throw new ApiError(422, { code: 602, message: `${i}.labels in body is required` });
    }
    const labels = stringMap(a.labels, 'labels', unparsable);
    const annotations =
      a.annotations === undefined ? {} : stringMap(a.annotations, 'annotations', unparsable);
    const time = (field: 'startsAt' | 'endsAt'): number | undefined => {
      const value = a[field];
      if (value === undefined || value === null || value === '') return undefined;
      const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(parsed)) throw unparsable(`parsing time ${JSON.stringify(value)} failed`);
      return parsed;
    };
    const endsAt = time('endsAt');
    // No start: now, or the end when only that is given (a resolve that does not know the start).
    const startsAt = time('startsAt') ?? endsAt ?? now;
    const generatorURL = typeof a.generatorURL === 'string' ? a.generatorURL : '';
    const badName = Object.keys(labels).find((name) => !LABEL_NAME.test(name));
    if (Object.keys(labels).length === 0) errors.push('at least one label pair required');
    else if (badName !== undefined) errors.push(`invalid label set: invalid name "${badName}"`);
    else if (endsAt !== undefined && endsAt < startsAt) errors.push('start time must be before end time');
    else
      valid.push({
        labels,
        annotations,
        startsAt,
        ...(endsAt !== undefined ? { endsAt } : {}),
        generatorURL,
      });
  });
  return { valid, errors };
}

function stringMap(
  value: unknown,
  field: string,
  unparsable: (why: string) => ApiError,
): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw unparsable(`json: cannot unmarshal into Go struct field Alert.${field}`);
  }
  for (const v of Object.values(value)) {
    if (typeof v !== 'string') {
      throw unparsable(
        `json: cannot unmarshal ${typeof v} into Go struct field Alert.${field} of type string`,
      );
    }
  }
  return { ...(value as Record<string, string>) };
}
