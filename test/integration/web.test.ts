import { Agent, get } from 'node:http';
import { Redis } from 'ioredis';
import { KEEP_ALIVE_MS } from '../../src/kernel/http/keep-alive';
import {
  postToSlackEndpoint,
  sendButtonClick,
  sendSlashCommand,
  signedHeaders,
  slashCommandBody,
} from '../kit/slack-requests';
import { startTestBot, type TestBot } from '../kit/bot';
import { TestRedisServer } from '../kit/redis-server';
import { waitFor } from '../kit/wait';
import { metricOf } from '../kit/metrics';
import { firingNotification, postNotification } from '../kit/flows';
import { WEBHOOK_TOKEN } from '../kit/ids';

describe('the web role over real HTTP', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot({ role: 'web' });
  });
  afterAll(() => t.stop());

  const queuedJobs = async () => {
    const counts = await Promise.all(
      (['ops', 'notify'] as const).map((name) =>
        t.bot.queues.get(name).getJobCountByTypes('wait', 'active', 'delayed'),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  };

  it('keeps the Alertmanager webhook off without ALERTMANAGER_WEBHOOK_TOKEN, whatever is sent', async () => {
    for (const authorization of [undefined, 'Bearer ', 'Bearer anything']) {
      const res = await fetch(`${t.url}/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ version: '4' }),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(
        /ALERTMANAGER_WEBHOOK_TOKEN is not set/,
      );
    }
    expect((await t.bot.deps.alertInbox.stats()).stored).toBe(0);
  });

  it('answers a signed /azora help with the grammar, ephemerally', async () => {
    const res = await sendSlashCommand(t.url, t.secret, { text: 'help', user: 'U0ENGINEER' });
    expect(res.status).toBe(200);
    const reply = res.json() as { response_type: string; text: string };
    expect(reply.response_type).toBe('ephemeral');
    for (const form of [
      'status <environment>',
      'scale <environment> <service> <replicas>',
      'rollback <environment>',
    ]) {
      expect(reply.text).toContain(form);
    }
  });

  it('answers an unknown verb with what was wrong and the right forms, and queues nothing', async () => {
    const res = await sendSlashCommand(t.url, t.secret, { text: 'reboot production', user: 'U0ENGINEER' });
    const reply = res.json() as { text: string };
    expect(reply.text).toMatch(/^unknown command 'reboot'\. Usage: .*\/azora help/s);
    expect(await queuedJobs()).toBe(0);
  });

  it('refuses a replica count out of bounds at once, queues nothing, and counts it as refused', async () => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text: 'scale production payment 99',
      user: 'U0ENGINEER',
    });
    expect((res.json() as { text: string }).text).toMatch(/^:no_entry: .*Nothing was changed\.$/);
    expect(await queuedJobs()).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^azora_commands_total\{verb="scale",outcome="refused"\} 1$/m);
  });

  it('answers a command whose job cannot be built with "could not prepare", not a Redis outage', async () => {
    // Signed, so only Slack could send it; a response_url that is no URL fails the job's schema.
    const res = await sendSlashCommand(t.url, t.secret, {
      text: 'status production',
      user: 'U0ENGINEER',
      responseUrl: 'not a url',
    });
    expect(res.status).toBe(200);
    const { text } = res.json() as { text: string };
    expect(text).toContain('could not prepare this command');
    expect(text).not.toContain('Redis');
    expect(await queuedJobs()).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^azora_commands_total\{verb="status",outcome="failed"\} 1$/m);
  });

  it('refuses a forged signature with 401 and does nothing else', async () => {
    const body = slashCommandBody({ text: 'help', user: 'U0ENGINEER' });
    const callsBefore = t.slack.calls.length;
    const res = await postToSlackEndpoint(t.url, body, signedHeaders(body, 'not-the-signing-secret'));
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('/azora');
    expect(t.slack.calls.length).toBe(callsBefore);
    expect(await queuedJobs()).toBe(0);
  });

  it('acknowledges a button it does not know, and does nothing else', async () => {
    const callsBefore = t.slack.calls.length;
    const res = await sendButtonClick(t.url, t.secret, {
      user: 'U0ENGINEER',
      actionId: 'azora:reboot:r0000001',
    });
    expect(res.status).toBe(200);
    expect(t.slack.calls.length).toBe(callsBefore);
    expect(await queuedJobs()).toBe(0);
  });

  it('refuses a correctly signed request whose timestamp is over 5 minutes old', async () => {
    const body = slashCommandBody({ text: 'help', user: 'U0ENGINEER' });
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await postToSlackEndpoint(t.url, body, signedHeaders(body, t.secret, sixMinutesAgo));
    expect(res.status).toBe(401);
  });

  it('refuses a body altered after signing', async () => {
    const body = slashCommandBody({ text: 'help', user: 'U0ENGINEER' });
    const headers = signedHeaders(body, t.secret);
    const res = await postToSlackEndpoint(t.url, body.replace('help', 'status+production'), headers);
    expect(res.status).toBe(401);
  });

  it('serves liveness, readiness with Redis up, and azora_ metrics', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok' });

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^azora_commands_total\{verb="help",outcome="accepted"\} [1-9]/m);
    expect(metrics).toMatch(/^azora_process_resident_memory_bytes \d+/m);
  });

  it('keeps an idle connection open for 65 s, longer than the load balancers in front', async () => {
    const { port } = new URL(t.url);
    const agent = new Agent({ keepAlive: true });
    try {
      const header = await new Promise<string | undefined>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers['keep-alive'] as string | undefined));
        }).on('error', reject);
      });
      expect(header).toBe(`timeout=${KEEP_ALIVE_MS / 1000}`);
      expect(KEEP_ALIVE_MS).toBeGreaterThan(60_000);
    } finally {
      agent.destroy();
    }
  });

  it('answers 404 for routes it does not serve', async () => {
    expect((await fetch(`${t.url}/nope`)).status).toBe(404);
  });
});

describe('the web role when Redis goes away', () => {
  let redis: TestRedisServer;
  let t: TestBot;
  beforeAll(async () => {
    redis = await TestRedisServer.start();
    t = await startTestBot({
      role: 'web',
      env: { REDIS_URL: redis.url, ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });
  afterAll(async () => {
    await t.stop();
    await redis.stop();
  });

  const readiness = async () => {
    const res = await fetch(`${t.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { redis: string } };
  };

  it('answers /readyz 503 naming Redis while it is down, 200 once it is back; /healthz stays 200', async () => {
    expect((await readiness()).status).toBe(200);
    await redis.down();
    const down = await readiness();
    expect(down.status).toBe(503);
    expect(down.body.redis).toMatch(/^unreachable/);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    await redis.up();
    const back = await waitFor(readiness, (r) => r.status === 200, {
      what: 'readiness after Redis returned',
    });
    expect(back.body.redis).toBe('ok');
  });

  it('answers the webhook 503 within seconds when Redis hangs rather than fails; the retry stores it once', async () => {
    const notification = firingNotification(
      'AzoraHighCPU',
      { severity: 'warning', namespace: 'azora-staging', service: 'auth' },
      'CPU above 70% on auth',
    );
    redis.pause();
    let hung: number;
    try {
      hung = await postNotification(t.url, WEBHOOK_TOKEN, notification);
    } finally {
      redis.resume();
    }
    expect(hung).toBe(503);
    // The store went through once Redis answered again; Alertmanager's retry is a duplicate.
    expect(await postNotification(t.url, WEBHOOK_TOKEN, notification)).toBe(202);
    expect(await t.bot.deps.alertInbox.size()).toBe(1);
  }, 20_000);

  /** Runs `during` with Redis down, and brings it back whatever happens. */
  const whileRedisIsDown = async (during: () => Promise<void>) => {
    await redis.down();
    try {
      await during();
    } finally {
      await redis.up();
    }
  };
  /** The ephemeral follow-up that contains `text`, posted after the first `from` messages. */
  const followUp = (text: string, from: number) =>
    waitFor(
      () => t.slack.messages.slice(from).find((m) => m.text.includes(text)),
      (m) => m !== undefined,
      { what: `a follow-up saying '${text}'` },
    );
  /** A counter of the bot's /metrics (0 when absent). */
  const counter = async (series: string) => (await metricOf(t.url, series)) ?? 0;
  /** Presses Approve on request `id` and waits for the presser to hear the press was not handled. */
  const approveUnhandled = async (id: string) => {
    const from = t.slack.messages.length;
    const res = await sendButtonClick(t.url, t.secret, {
      user: 'U0APPROVER1',
      actionId: `azora:approve:${id}`,
      value: id,
      responseUrl: t.slack.responseUrl('C0AZORAOPS', 'U0APPROVER1'),
    });
    expect(res.status).toBe(200);
    const said = await followUp('could not handle that click', from);
    expect(said!.visibleTo).toBe('U0APPROVER1');
  };

  it('answers a command while Redis is down that it cannot queue work; nothing is queued', async () => {
    const unqueued = 'azora_commands_total{verb="status",outcome="unqueued"}';
    const before = await counter(unqueued);
    await whileRedisIsDown(async () => {
      // The replay and rate checks need Redis before the answer, so the answer itself says so.
      const res = await sendSlashCommand(t.url, t.secret, {
        text: 'status production',
        user: 'U0ENGINEER',
        responseUrl: t.slack.responseUrl('C0AZORAOPS', 'U0ENGINEER'),
      });
      expect(res.status).toBe(200);
      const { text } = res.json() as { text: string };
      expect(text).toContain('cannot queue work');
      expect(text).toContain('Nothing was changed');
    });
    await waitFor(readiness, (r) => r.status === 200, { what: 'readiness after Redis returned' });
    expect(await t.bot.queues.get('ops').getJobCountByTypes('wait', 'active', 'delayed')).toBe(0);
    expect((await counter(unqueued)) - before).toBe(1);
  });

  it('answers a command within Slack’s 3 s when Redis hangs rather than fails, saying it cannot queue work', async () => {
    redis.pause();
    let res: Awaited<ReturnType<typeof sendSlashCommand>>;
    try {
      res = await sendSlashCommand(t.url, t.secret, {
        text: 'status production',
        user: 'U0ENGINEER',
        responseUrl: t.slack.responseUrl('C0AZORAOPS', 'U0ENGINEER'),
      });
    } finally {
      redis.resume();
    }
    expect(res.status).toBe(200);
    const { text } = res.json() as { text: string };
    expect(text).toContain('cannot queue work');
    expect(text).toContain('Nothing was changed');
  }, 20_000);

  it('tells the user a command is not queued yet while its queue add hangs, and lets it land after', async () => {
    const queues = t.bot.deps.queues;
    const add = queues.enqueueParsed.bind(queues);
    let letGo = () => undefined as void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    queues.enqueueParsed = async (...args) => {
      await held;
      return add(...args);
    };
    const late = 'azora_commands_total{verb="status",outcome="late"}';
    const queuedJobs = () => t.bot.queues.get('ops').getJobCountByTypes('wait', 'active', 'delayed');
    const [before, jobsBefore, from] = [await counter(late), await queuedJobs(), t.slack.messages.length];
    try {
      const res = await sendSlashCommand(t.url, t.secret, {
        text: 'status production',
        user: 'U0ENGINEER',
        responseUrl: t.slack.responseUrl('C0AZORAOPS', 'U0ENGINEER'),
      });
      expect((res.json() as { text: string }).text).toContain('Reading production');
      // Past QUEUE_WAIT_MS the acknowledgement is replaced: not queued yet, and maybe later.
      const said = await followUp('not queued yet', from);
      expect(said!.text).toContain('check `/azora status` before typing it again');
      expect(await queuedJobs()).toBe(jobsBefore);
      letGo();
      await waitFor(queuedJobs, (n) => n === jobsBefore + 1, { what: 'the job to land once Redis answers' });
      expect((await counter(late)) - before).toBe(1);
      expect(t.slack.messages.slice(from).filter((m) => m.text.includes('cannot queue work'))).toEqual([]);
    } finally {
      queues.enqueueParsed = add;
      letGo();
    }
  }, 20_000);

  it('gives back a follow slot its checks took after the answer said nothing was queued', async () => {
    // The slot's reservation is held until the answer is out, as a Redis that hangs between
    // the two calls would hold it.
    const gate = t.bot.deps.gate;
    const [reserve, release] = [gate.reserveFollow.bind(gate), gate.releaseFollow.bind(gate)];
    let letGo = () => undefined as void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const reserved: string[] = [];
    const released: string[] = [];
    gate.reserveFollow = async (...args) => {
      reserved.push(args[1]);
      await held;
      return reserve(...args);
    };
    gate.releaseFollow = async (user, slot) => {
      released.push(slot);
      return release(user, slot);
    };
    const redisClient = new Redis(redis.url);
    try {
      const res = await sendSlashCommand(t.url, t.secret, {
        text: 'logs staging payment follow 60s',
        user: 'U0ENGINEER',
        responseUrl: t.slack.responseUrl('C0AZORAOPS', 'U0ENGINEER'),
      });
      expect((res.json() as { text: string }).text).toContain('cannot queue work');
      letGo();
      expect(reserved).toHaveLength(1);
      await waitFor(
        () => released,
        (r) => r.includes(reserved[0]!),
        { what: 'the late slot given back' },
      );
      expect(await redisClient.zcard(`${t.prefix}:follows:U0ENGINEER`)).toBe(0);
    } finally {
      gate.reserveFollow = reserve;
      gate.releaseFollow = release;
      redisClient.disconnect();
    }
  }, 20_000);

  it('answers a button pressed while Redis is down: the clicker learns it did not go through', async () => {
    const failed = 'azora_slack_requests_total{kind="action:approve",outcome="failed"}';
    const before = await counter(failed);
    await whileRedisIsDown(() => approveUnhandled('r00000001'));
    expect((await counter(failed)) - before).toBe(1);
  });

  it('answers a button pressed while Redis hangs: the clicker learns it did not go through', async () => {
    redis.pause();
    try {
      await approveUnhandled('r00000002');
    } finally {
      redis.resume();
    }
  }, 20_000);
});
