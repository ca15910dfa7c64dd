/**
 * The benchmarks' load generator, in a process of its own so that sending and timing do
 * not share an event loop with the simulators in the Jest process. Started by load.ts with
 * an IPC channel; each `run` message is a plan, answered with one `done` message holding
 * every target's latencies (ms); a `notification` message asks for the bytes it sends for
 * one group. Runs under Node's type stripping: node built-ins only, erasable syntax only,
 * no imports of the project's modules.
 */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';

/** `/azora …` signed afresh for every send, with a trigger id of its own (the bot takes a repeated one as a replay). */
export interface SlashTarget {
  kind: 'slash';
  url: string;
  secret: string;
  /** The form body, with `trigger` where each send's trigger id goes. */
  body: string;
  trigger: string;
}

/** Alertmanager notifications: group `first + n` for the n-th send (always `first` with `repeat`). */
export interface WebhookTarget {
  kind: 'webhook';
  url: string;
  token: string;
  groups: StormGroups;
}

export interface StormGroups {
  first: number;
  repeat?: boolean;
  alertname: string;
  alertsPerGroup: number;
  /** Group i has severity `severities[i % length]`, which picks its channel. */
  severities: string[];
  /** Every alert's startsAt: the same in every delivery, as an HA pair's peers send it. */
  startsAt: string;
}

export type Target = SlashTarget | WebhookTarget;

export interface LoadPlan {
  /** Ticks a second; every tick sends one request to each target, in an order that rotates. */
  perSecond: number;
  ticks: number;
  targets: Target[];
}

export interface LoadResult {
  /** Per target, in plan order: each request's latency in ms, in the order sent. */
  latencies: number[][];
  /** Per target: answers other than the expected status, and failed requests. */
  errors: number[];
  /** The first error seen, to say what went wrong. */
  firstError?: string;
  /** Wall-clock ms (with the sub-ms fraction) of the first send and of the last answer. */
  startedAt: number;
  endedAt: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const wallNow = () => performance.timeOrigin + performance.now();
let triggers = 0;

/** Alertmanager's v4 notification for group `i`: `alertsPerGroup` firing alerts of one service. */
function notification(groups: StormGroups, i: number): string {
  const { alertname, alertsPerGroup, severities, startsAt } = groups;
  const service = `svc-${i}`;
  const severity = severities[i % severities.length]!;
  const common = { alertname, severity, namespace: 'azora-production', service };
  const summary = `CPU above 70% on ${service}`;
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${alertname}", service="${service}"}`,
    status: 'firing',
    receiver: 'azora',
    groupLabels: { alertname, service },
    commonLabels: common,
    commonAnnotations: { summary },
    externalURL: 'http://alertmanager.bench:9093',
    alerts: Array.from({ length: alertsPerGroup }, (_, k) => ({
      status: 'firing',
      labels: { ...common, pod: `pod-${k}` },
      annotations: { summary },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.bench:9090/graph',
      fingerprint: `${i.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`,
    })),
  });
}

interface Prepared {
  path: string;
  expect: number;
  next: () => { headers: Record<string, string>; body: string };
}

function prepare(target: Target): Prepared {
  if (target.kind === 'slash') {
    return {
      path: '/slack/events',
      expect: 200,
      next() {
        triggers += 1;
        const body = target.body.replace(target.trigger, `${process.pid}.${triggers}.bench`);
        const timestamp = Math.floor(Date.now() / 1000);
        const signature = createHmac('sha256', target.secret).update(`v0:${timestamp}:${body}`).digest('hex');
        return {
          body,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': String(timestamp),
            'x-slack-signature': `v0=${signature}`,
          },
        };
      },
    };
  }
  let n = 0;
  return {
    path: '/alertmanager',
    expect: 202,
    next() {
      const i = target.groups.repeat ? target.groups.first : target.groups.first + n++;
      return {
        body: notification(target.groups, i),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
      };
    },
  };
}

/** One request, timed from just before it is written to the end of its answer. */
function send(url: URL, prepared: Prepared): Promise<{ ms: number; error?: string }> {
  const { headers, body } = prepared.next();
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: prepared.path,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ms = performance.now() - t0;
          resolve(
            res.statusCode === prepared.expect
              ? { ms }
              : { ms, error: `${url.origin}${prepared.path} answered ${res.statusCode}` },
          );
        });
      },
    );
    req.on('error', (err) =>
      resolve({ ms: performance.now() - t0, error: `${url.origin}${prepared.path}: ${err.message}` }),
    );
    req.end(body);
  });
}

/** Open loop at fixed intervals: a slow answer never delays the next send. */
async function run(plan: LoadPlan): Promise<LoadResult> {
  const targets = plan.targets.map((t) => ({ url: new URL(t.url), prepared: prepare(t) }));
  const pending: Promise<{ ms: number; error?: string }>[][] = targets.map(() => []);
  const interval = 1000 / plan.perSecond;
  const startedAt = wallNow();
  const started = performance.now();
  for (let i = 0; i < plan.ticks; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < targets.length; k++) {
      const index = (i + k) % targets.length;
      const { url, prepared } = targets[index]!;
      pending[index]!.push(send(url, prepared));
    }
  }
  const answers = await Promise.all(pending.map((p) => Promise.all(p)));
  const firstError = answers.flat().find((a) => a.error)?.error;
  return {
    latencies: answers.map((list) => list.map((a) => a.ms)),
    errors: answers.map((list) => list.filter((a) => a.error).length),
    ...(firstError ? { firstError } : {}),
    startedAt,
    endedAt: wallNow(),
  };
}

type Message = { type: 'run'; plan: LoadPlan } | { type: 'notification'; groups: StormGroups; i: number };

if (process.send) {
  process.on('message', (message: Message) => {
    if (message.type === 'run')
      void run(message.plan).then((result) => process.send!({ type: 'done', result }));
    if (message.type === 'notification')
      process.send!({ type: 'notification', body: notification(message.groups, message.i) });
  });
  // The parent's end is ours: the IPC channel closing means nobody waits for answers.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
