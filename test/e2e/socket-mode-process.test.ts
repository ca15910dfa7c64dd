import { Redis } from 'ioredis';
import { Queues } from '../../src/kernel/queue/queues';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { ENGINEER, OPS, WEBHOOK_TOKEN } from '../kit/ids';
import { runRole, type RunningRole } from '../kit/process';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { slashCommandPayload, SlackSocketServer } from '../kit/slack-socket';
import { waitFor } from '../kit/wait';

/**
 * Two web processes of the built entry point (dist/, as the image runs them) in Socket
 * Mode: SLACK_APP_TOKEN and no signing secret, both connected to one app at once, Slack's
 * envelopes shared between them with each handled by exactly one; the HTTP port still
 * serving the probes, the metrics and the webhook; SIGTERM ending each cleanly.
 * Needs `npm run build` first (npm test does it).
 */

const readiness = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe('two web processes in Socket Mode', () => {
  const prefix = uniquePrefix();
  let slack: SimulatedSlack;
  let socket: SlackSocketServer;
  let redis: Redis;
  let queues: Queues;
  let web: RunningRole[] = [];

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    socket = await new SlackSocketServer({ upstream: slack }).start();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    queues = new Queues(redis, prefix);
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: socket.appToken,
      SLACK_API_URL: socket.apiUrl,
      REDIS_PREFIX: prefix,
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    };
    // runRole returns once /readyz answers 200: Redis and the socket both up.
    web = await Promise.all([runRole('web', env), runRole('web', env)]);
    await socket.waitForConnections(2);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(web.map((w) => w.stop()));
    await queues.close();
    await redis.quit();
    await socket.stop();
    await slack.stop();
    await dropPrefix(prefix);
  });

  it('are ready with the socket connected, and serve the probes, the metrics and the webhook on their port', async () => {
    for (const { url } of web) {
      expect(await readiness(url)).toEqual({
        status: 200,
        body: { status: 'ready', redis: 'ok', slackSocket: 'ok' },
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^azora_process_resident_memory_bytes /m);
      const webhook = await fetch(`${url}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(webhook.status).toBe(400);
    }
    // Each process opened its own connection with the app token.
    expect(socket.opens.filter((o) => o.ok)).toHaveLength(2);
  });

  it('share the envelopes: each acknowledged once within 3 s, each command handled by exactly one', async () => {
    const help = Array.from({ length: 6 }, () => socket.slashCommand({ text: 'help', user: ENGINEER }));
    const changes = Array.from({ length: 8 }, (_, i) =>
      slashCommandPayload({ text: 'scale staging api-gateway 4', user: `U0PROCESS${i}`, channel: OPS }),
    );
    const sent = [...help, ...changes.map((payload) => socket.send('slash_commands', payload))];
    const acks = await Promise.all(sent.map((s) => s.acked));
    expect(acks.every((a) => a.afterMs < 3_000)).toBe(true);
    for (const ack of acks.slice(0, help.length))
      expect((ack.payload as { text: string }).text).toContain('status <environment>');
    for (const { envelopeId } of sent) expect(socket.tally(envelopeId)).toEqual({ deliveries: 1, acks: 1 });
    expect(new Set(acks.map((a) => a.connection)).size).toBe(2);

    const planned = () =>
      queues
        .get('ops')
        .getJobs(['wait', 'delayed', 'active'])
        .then((jobs) => jobs.filter((j) => j.name === 'plan-request').map((j) => j.id!));
    await waitFor(planned, (jobs) => jobs.length >= changes.length, { what: 'the plan requests' });
    expect((await planned()).sort()).toEqual(changes.map((c) => `plan-${c.trigger_id!}`).sort());
    // Per process: its share of the commands, counted once.
    const counted = await Promise.all(
      web.map(async ({ url }) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return Number(
          /^azora_commands_total\{verb="scale",outcome="accepted"\} (\d+)$/m.exec(text)?.[1] ?? 0,
        );
      }),
    );
    expect(counted[0]! + counted[1]!).toBe(changes.length);
  });

  it('answers /readyz 503 naming the socket while one is down, and reconnects', async () => {
    const [first] = socket.openConnections as [number];
    socket.drop(first);
    const during = await waitFor(
      () => Promise.all(web.map((w) => readiness(w.url))),
      (rs) => rs.some((r) => r.status === 503),
      { what: 'one process not ready' },
    );
    const down = during.find((r) => r.status === 503)!;
    expect(down.body.slackSocket).toMatch(/^Socket Mode (disconnected|connecting)/);
    // The other process still has its connection: envelopes go there meanwhile.
    const ack = await socket.slashCommand({ text: 'help', user: ENGINEER }).acked;
    expect((ack.payload as { text: string }).text).toContain('status <environment>');
    await waitFor(
      () => Promise.all(web.map((w) => readiness(w.url))),
      (rs) => rs.every((r) => r.status === 200),
      { what: 'both processes ready again', timeoutMs: 20_000 },
    );
    expect(socket.openConnections).toHaveLength(2);
  }, 30_000);

  it('exit cleanly on SIGTERM, closing their connections', async () => {
    await Promise.all(web.map((w) => w.stop()));
    for (const { exited } of web) {
      const { code, stderr } = await exited!;
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    }
    await waitFor(
      () => socket.openConnections.length,
      (n) => n === 0,
      { what: 'the connections to close' },
    );
    web = [];
  });
});
