import { Redis, type RedisKey } from 'ioredis';
import { createLogger } from '../../src/kernel/log';
import type { Metrics } from '../../src/kernel/metrics';
import type { SlackMessage } from '../../src/kernel/slack/blocks';
import { SlackOutbox } from '../../src/kernel/slack/outbox';
import { SlackMessenger } from '../../src/kernel/slack/messenger';
import { uploadGraph } from '../../src/graphs/upload';
import { section } from '../../src/kernel/slack/blocks';
import { ManualClock } from '../kit/fakes/clock';
import { FakeSlackClient } from '../kit/fakes/slack-client';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';

// SlackOutbox pacing on the local Redis (its claim is a Lua script), driven by pumpOnce
// at times the test picks on an injected clock: no timers, no sleeps.
const T0 = Date.UTC(2026, 10, 26, 10, 0);
const GAP = 1_000;
const ALERTS = 'C0ALERTS';
const OPS = 'C0AZORAOPS';
const text = (t: string): SlackMessage => ({ text: t, blocks: [] });

describe('SlackOutbox pacing', () => {
  let redis: Redis;
  let prefix: string;
  let clock: ManualClock;
  let slack: FakeSlackClient;
  let outcomes: string[];
  let outbox: SlackOutbox;

  /** Moves the clock to T0 + `offset` and pumps once; the number of messages claimed. */
  const pumpAt = (offset: number) => {
    clock.set(T0 + offset);
    return outbox.pumpOnce(clock.now());
  };

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    clock = new ManualClock(T0);
    slack = new FakeSlackClient(clock);
    outcomes = [];
    const metrics = {
      slackCalls: { inc: (labels: { method: string; outcome: string }) => outcomes.push(labels.outcome) },
    } as unknown as Metrics;
    outbox = new SlackOutbox(redis, prefix, slack.asWebClient(), createLogger('silent'), metrics, {
      gapMs: GAP,
      clock,
      // A paced call's wait for its turn moves the test's clock: no sleeping.
      wait: async (ms) => clock.advance(ms),
    });
  });
  afterEach(() => dropPrefix(prefix));
  afterAll(() => redis.quit());

  it('never makes two calls to one channel within the gap; channels do not wait for each other', async () => {
    for (const key of ['a', 'b', 'c']) await outbox.put(ALERTS, key, text(key));
    await outbox.put(OPS, 'x', text('x'));

    expect(await pumpAt(0)).toBe(2);
    expect(await pumpAt(999)).toBe(0);
    expect(await pumpAt(1_000)).toBe(1);
    expect(await pumpAt(1_500)).toBe(0);
    expect(await pumpAt(2_000)).toBe(1);
    expect(await pumpAt(3_000)).toBe(0);

    expect(slack.calls.map((c) => [c.at - T0, c.args.channel, c.args.text])).toEqual([
      [0, ALERTS, 'a'],
      [0, OPS, 'x'],
      [1_000, ALERTS, 'b'],
      [2_000, ALERTS, 'c'],
    ]);
    expect(await outbox.pending()).toBe(0);
  });

  it('keeps the gap however often it is pumped while messages keep coming', async () => {
    for (let t = 0; t < 5_000; t += 100) {
      clock.set(T0 + t);
      if (t % 300 === 0) await outbox.put(ALERTS, `m${t}`, text(`m${t}`));
      if (t % 700 === 0) await outbox.put(OPS, `o${t}`, text(`o${t}`));
      await outbox.pumpOnce(clock.now());
    }

    for (const channel of [ALERTS, OPS]) {
      const times = slack.callsTo(channel).map((c) => c.at);
      expect(times.length).toBeGreaterThan(3);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(GAP);
    }
  });

  it('counts the gap from when a call leaves, not from its claim, when reading the message was slow', async () => {
    await outbox.put(ALERTS, 'a', text('a'));
    await outbox.put(ALERTS, 'b', text('b'));
    // Reading the first claimed message takes 300 ms (a busy Redis, a long parent lookup).
    const hgetall = redis.hgetall.bind(redis);
    const slowOnce = jest.spyOn(redis, 'hgetall').mockImplementationOnce(async (key: RedisKey) => {
      clock.advance(300);
      return hgetall(key);
    });

    expect(await pumpAt(0)).toBe(1);
    expect(await pumpAt(1_000)).toBe(0);
    expect(await pumpAt(1_300)).toBe(1);
    slowOnce.mockRestore();

    expect(slack.calls.map((c) => [c.at - T0, c.args.text])).toEqual([
      [300, 'a'],
      [1_300, 'b'],
    ]);
  });

  it('coalesces edits made while a message waits into one update with the last of them', async () => {
    await outbox.put(ALERTS, 'group', text('firing: 1 alert'));
    await outbox.put(ALERTS, 'group', text('firing: 2 alerts'));
    await pumpAt(0);

    for (const [offset, n] of [
      [100, 3],
      [200, 4],
      [300, 5],
    ] as const) {
      clock.set(T0 + offset);
      await outbox.put(ALERTS, 'group', text(`firing: ${n} alerts`));
    }
    expect(await pumpAt(500)).toBe(0);
    expect(await pumpAt(1_000)).toBe(1);
    expect(await pumpAt(2_000)).toBe(0);

    const ts = await outbox.tsOf('group');
    expect(slack.calls.map((c) => [c.method, c.args.ts, c.args.text])).toEqual([
      ['chat.postMessage', undefined, 'firing: 2 alerts'],
      ['chat.update', ts, 'firing: 5 alerts'],
    ]);
  });

  it('draws a rendered message when it is sent: once per turn, from the state of that moment', async () => {
    let state = 1;
    const drawn: number[] = [];
    outbox.renderWith('count', async (id) => {
      drawn.push(state);
      return text(`${id}: ${state}`);
    });
    await outbox.putRendered(ALERTS, 'digest', { kind: 'count', id: 'storm' });
    expect(await pumpAt(0)).toBe(1);
    for (state = 2; state <= 40; state++)
      await outbox.putRendered(ALERTS, 'digest', { kind: 'count', id: 'storm' });
    state = 40;
    expect(await pumpAt(1_000)).toBe(1);
    expect(await pumpAt(2_000)).toBe(0);

    expect(drawn).toEqual([1, 40]);
    const ts = await outbox.tsOf('digest');
    expect(slack.calls.map((c) => [c.method, c.args.ts, c.args.text])).toEqual([
      ['chat.postMessage', undefined, 'storm: 1'],
      ['chat.update', ts, 'storm: 40'],
    ]);
  });

  it('retries a message it cannot draw, and sends nothing for a source with nothing left to show', async () => {
    await outbox.putRendered(ALERTS, 'unknown', { kind: 'nobody-draws-this', id: 'x' });
    expect(await pumpAt(0)).toBe(1);
    expect(slack.calls).toHaveLength(0);
    // Still due: a worker that can draw it will.
    expect(await outbox.pending()).toBe(1);
    expect(outcomes).toEqual([]);

    outbox.renderWith('gone', async () => undefined);
    await outbox.putRendered(OPS, 'expired', { kind: 'gone', id: 'y' });
    expect(await pumpAt(0)).toBe(1);
    expect(slack.callsTo(OPS)).toHaveLength(0);
  });

  it('posts a reply only once its parent has a ts, in the parent’s thread, once per id', async () => {
    await outbox.reply(ALERTS, 'alert:g1', text('resolved'), 'g1-resolved');
    await outbox.reply(ALERTS, 'alert:g1', text('resolved (again)'), 'g1-resolved');
    clock.set(T0 + 1);
    await outbox.put(ALERTS, 'alert:g1', text('firing'));

    // The reply is first in line, but its parent is not posted yet: no call, and it waits.
    await pumpAt(1);
    expect(slack.calls).toEqual([]);
    expect(await outbox.pending()).toBe(2);

    await pumpAt(1_001);
    await pumpAt(2_001);
    await pumpAt(3_001);

    const parentTs = await outbox.tsOf('alert:g1');
    expect(slack.calls.map((c) => [c.at - T0, c.args.text, c.args.thread_ts])).toEqual([
      [1_001, 'firing', undefined],
      [2_001, 'resolved', parentTs],
    ]);
    expect(await outbox.pending()).toBe(0);
  });

  it('on a 429 closes the channel for Retry-After and keeps the message', async () => {
    slack.rateLimitNext('chat.postMessage', 5);
    await outbox.put(ALERTS, 'group', text('firing'));

    await pumpAt(0);
    expect(slack.calls.map((c) => c.outcome)).toEqual(['rate-limited']);
    expect(await outbox.has('group')).toBe(true);
    expect(await outbox.pending()).toBe(1);

    // Another channel is not held up.
    clock.set(T0 + 1_000);
    await outbox.put(OPS, 'note', text('other channel'));
    expect(await pumpAt(1_000)).toBe(1);
    expect(await pumpAt(4_999)).toBe(0);
    expect(slack.callsTo(ALERTS)).toHaveLength(1);

    expect(await pumpAt(5_000)).toBe(1);
    expect(slack.callsTo(ALERTS).map((c) => [c.at - T0, c.outcome, c.args.text])).toEqual([
      [0, 'rate-limited', 'firing'],
      [5_000, 'ok', 'firing'],
    ]);
    expect(await outbox.tsOf('group')).toBeDefined();
    expect(await outbox.pending()).toBe(0);
    expect(outcomes).toEqual(['rate-limited', 'ok', 'ok']);
  });

  it('spaces edits across every channel by the workspace’s chat.update turn; new posts do not wait for it', async () => {
    await outbox.put(ALERTS, 'a', text('a firing'));
    await outbox.put(OPS, 'o', text('o firing'));
    expect(await pumpAt(0)).toBe(2);
    clock.set(T0 + 100);
    await outbox.put(ALERTS, 'a', text('a, 2 firing'));
    await outbox.put(OPS, 'o', text('o, 2 firing'));
    await outbox.put(OPS, 'p', text('p firing'));

    expect(await pumpAt(1_000)).toBe(1);
    expect(await pumpAt(2_000)).toBe(0);
    expect(await pumpAt(2_250)).toBe(1);
    expect(await pumpAt(3_250)).toBe(1);

    expect(slack.calls.slice(2).map((c) => [c.at - T0, c.method, c.args.text])).toEqual([
      [1_000, 'chat.update', 'a, 2 firing'],
      [2_250, 'chat.update', 'o, 2 firing'],
      [3_250, 'chat.postMessage', 'p firing'],
    ]);
  });

  it('on a 429 to an edit holds every channel’s edits for the Retry-After, not only that channel’s', async () => {
    await outbox.put(ALERTS, 'a', text('a firing'));
    await outbox.put(OPS, 'o', text('o firing'));
    expect(await pumpAt(0)).toBe(2);
    clock.set(T0 + 100);
    await outbox.put(ALERTS, 'a', text('a, 2 firing'));
    slack.rateLimitNext('chat.update', 10);
    expect(await pumpAt(1_000)).toBe(1);
    await outbox.put(OPS, 'o', text('o, 2 firing'));

    expect(await pumpAt(5_000)).toBe(0);
    expect(await pumpAt(11_000)).toBe(1);
    expect(await pumpAt(12_250)).toBe(1);
    expect(slack.calls.slice(2).map((c) => [c.at - T0, c.outcome, c.args.text])).toEqual([
      [1_000, 'rate-limited', 'a, 2 firing'],
      [11_000, 'ok', 'a, 2 firing'],
      [12_250, 'ok', 'o, 2 firing'],
    ]);
  });

  describe('paced calls (answers needed at once: create, pin, invite)', () => {
    // chat.* calls take the channel's turns; Slack limits the other methods per workspace.
    const pin = (channel: string, what: string) =>
      outbox.paced('chat.postMessage', channel, () => slack.chat.postMessage({ channel, text: what }));
    const lookup = (what: string) =>
      outbox.paced('users.lookupByEmail', ALERTS, () =>
        slack.chat.postMessage({ channel: ALERTS, text: what }),
      );

    it('take turns with the queued messages of their channel, a gap apart', async () => {
      await outbox.put(ALERTS, 'a', text('queued'));
      expect(await pumpAt(0)).toBe(1);

      await pin(ALERTS, 'first pin');
      await pin(ALERTS, 'second pin');
      await pin(OPS, 'other channel');
      await outbox.put(ALERTS, 'b', text('queued later'));
      expect(await pumpAt(2_500)).toBe(0);
      expect(await pumpAt(3_000)).toBe(1);

      expect(slack.calls.map((c) => [c.at - T0, c.args.channel, c.args.text])).toEqual([
        [0, ALERTS, 'queued'],
        [1_000, ALERTS, 'first pin'],
        [2_000, ALERTS, 'second pin'],
        [2_000, OPS, 'other channel'],
        [3_000, ALERTS, 'queued later'],
      ]);
    });

    it('on a 429 wait the Retry-After, then succeed; queued messages of the channel wait too', async () => {
      slack.rateLimitNext('chat.postMessage', 7);
      await outbox.put(ALERTS, 'a', text('queued'));

      const answer = await pin(ALERTS, 'pin');

      expect(answer.ok).toBe(true);
      expect(slack.calls.map((c) => [c.at - T0, c.outcome, c.args.text])).toEqual([
        [0, 'rate-limited', 'pin'],
        [7_000, 'ok', 'pin'],
      ]);
      expect(await pumpAt(7_500)).toBe(0);
      expect(await pumpAt(8_000)).toBe(1);
      expect(outcomes).toEqual(['rate-limited', 'ok', 'ok']);
    });

    it('include a graph’s upload into an alert thread: it waits for the channel’s turn', async () => {
      await outbox.put(ALERTS, 'a', text('queued'));
      expect(await pumpAt(0)).toBe(1);
      const uploads: number[] = [];
      const graphs = {
        outbox,
        // Its first step records when it ran, and refuses: the rest of the upload is not this test's.
        slack: {
          apiCall: async () => {
            uploads.push(clock.now() - T0);
            throw new Error('file_uploads_disabled');
          },
        },
      } as unknown as Parameters<typeof uploadGraph>[0];

      const upload = uploadGraph(graphs, {
        channel: ALERTS,
        threadTs: '1700000000.000001',
        png: Buffer.from('png'),
        filename: 'graph.png',
        title: 'AzoraHighCPU',
        altText: 'CPU over the last hour',
      });

      await expect(upload).rejects.toThrow('file_uploads_disabled');
      expect(uploads).toEqual([1_000]);
    });

    it('of a workspace-wide method wait for their own method’s turn, not for a channel’s', async () => {
      await pin(ALERTS, 'post');
      await lookup('first lookup');
      await lookup('second lookup');

      expect(slack.calls.map((c) => [c.at - T0, c.args.text])).toEqual([
        [0, 'post'],
        [0, 'first lookup'],
        [1_000, 'second lookup'],
      ]);
    });

    it('throw what Slack refuses, once, and give up when asked to wait too long', async () => {
      slack.failNext(
        'chat.postMessage',
        Object.assign(new Error('not_in_channel'), { data: { error: 'not_in_channel' } }),
      );
      await expect(pin(ALERTS, 'refused')).rejects.toThrow('not_in_channel');
      expect(slack.calls).toHaveLength(1);

      slack.rateLimitNext('chat.postMessage', 120);
      await expect(pin(OPS, 'too long')).rejects.toThrow('longer than 60 s');
      expect(slack.callsTo(OPS).map((c) => c.outcome)).toEqual(['rate-limited']);
    });
  });
  describe('the messenger’s writes (a request’s thread, made at once)', () => {
    const messenger = () => new SlackMessenger(slack.asWebClient(), outbox);

    it('go out at once while Slack takes them', async () => {
      const ts = await messenger().post(OPS, text('request'));
      await messenger().post(OPS, text('progress'), ts);
      await messenger().update(OPS, ts, text('approved'));

      expect(slack.calls.map((c) => [c.at - T0, c.method, c.outcome])).toEqual([
        [0, 'chat.postMessage', 'ok'],
        [0, 'chat.postMessage', 'ok'],
        [0, 'chat.update', 'ok'],
      ]);
    });

    it('after a 429 wait the Retry-After, then are made again; queued messages of the channel wait too', async () => {
      await outbox.put(OPS, 'a', text('queued'));
      slack.rateLimitNext('chat.update', 3);

      await messenger().update(OPS, '1700000000.000042', text('succeeded'));

      expect(slack.calls.map((c) => [c.at - T0, c.method, c.outcome, c.args.text])).toEqual([
        [0, 'chat.update', 'rate-limited', 'succeeded'],
        [3_000, 'chat.update', 'ok', 'succeeded'],
      ]);
      expect(await pumpAt(3_500)).toBe(0);
      expect(await pumpAt(4_000)).toBe(1);
      expect(slack.calls.at(-1)?.args.text).toBe('queued');
    });

    it('throw what Slack refuses for other reasons', async () => {
      slack.failNext(
        'chat.postMessage',
        Object.assign(new Error('not_in_channel'), { data: { error: 'not_in_channel' } }),
      );
      await expect(messenger().post(OPS, text('refused'))).rejects.toThrow('not_in_channel');
      expect(slack.calls).toHaveLength(1);
    });

    it('are cut to what Slack takes: 50 blocks and 40,000 characters of text', async () => {
      const blocks = Array.from({ length: 60 }, (_, i) => section(`escalation policy ${i}`));
      await messenger().post(OPS, { text: 'x'.repeat(45_000), blocks });

      const sent = slack.calls[0]!.args;
      expect(sent.text).toHaveLength(40_000);
      expect(sent.text?.endsWith('…')).toBe(true);
      expect(sent.blocks).toHaveLength(50);
      expect(sent.blocks?.[48]).toEqual(blocks[48]);
      expect(JSON.stringify(sent.blocks?.[49])).toContain(
        '… and 11 more, which Slack cannot show in one message',
      );
    });
  });
});
