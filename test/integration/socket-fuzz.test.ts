import { startTestBot, type TestBot } from '../kit/bot';
import { fuzzSeed, Random } from '../kit/slack-fuzz';
import { buttonClickPayload, slashCommandPayload, type SlackSocketServer } from '../kit/slack-socket';

/**
 * Mutated Socket Mode frames against the real web role: envelopes with damaged payloads,
 * unknown or hostile types (`close`, `error`: the socket client's own event names), missing
 * or odd envelope ids, garbage that is no envelope at all. Every frame with an envelope id
 * must be acknowledged within Slack's 3 s, nothing may crash or reconnect, and the bot must
 * answer a good command afterwards. `FUZZ_SEED=<seed>` replays a run.
 */
const SEED = fuzzSeed(20_261_202);
const CASES = Number(process.env.FUZZ_CASES ?? 600);
const BATCH = 25;
const ACK_WITHIN_MS = 3_000;

const UNICODE = 'aé€😀\u202e\u200b\u0000\t\n"\'\\&=%+<>{}[]';

function garbage(r: Random, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 1e308, 2 ** 53 + 1]);
    case 3:
      return r.string(r.int(30), UNICODE);
    case 4:
      return r.pick(['__proto__', 'constructor', 'close', 'error', 'hello', 'disconnect', '']);
    case 5:
      return [];
    case 6:
      return Array.from({ length: r.int(3) }, () => garbage(r, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: r.int(4) }, () => [
          r.pick(['type', 'user', 'actions', 'event', 'command', '__proto__', r.string(5, UNICODE)]),
          garbage(r, depth + 1),
        ]),
      );
    default: {
      let value: unknown = 'bottom';
      for (let i = 0; i < 1_000; i += 1) value = r.chance(0.5) ? [value] : { a: value };
      return value;
    }
  }
}

/** One field of a record (or of a record inside it) replaced, removed or added. */
function mutate(r: Random, value: unknown, what: string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || r.chance(0.1)) {
    what.push('replaced whole');
    return garbage(r);
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys.length > 0 && r.chance(0.85) ? r.pick(keys) : r.pick(['event', 'actions', 'command', 'x']);
  switch (r.int(4)) {
    case 0:
      what.push(`deleted ${key}`);
      delete copy[key];
      break;
    case 1:
      if (typeof copy[key] === 'object' && copy[key] !== null) {
        what.push(`inside ${key}`);
        copy[key] = mutate(r, copy[key], what);
        break;
      }
      what.push(`garbage ${key}`);
      copy[key] = garbage(r);
      break;
    default:
      what.push(`garbage ${key}`);
      copy[key] = garbage(r);
  }
  return copy;
}

interface Frame {
  text: string;
  /** The id Slack would want acknowledged, when the frame carries a usable one. */
  envelopeId?: string;
  what: string[];
}

function frame(r: Random, index: number): Frame {
  const what: string[] = [];
  // A user per frame: the per-user command limit stays out of the way.
  const user = `U0FUZZ${index}`;
  const envelopeId = `fuzz-${SEED}-${index}`;
  const sources = [
    () => ({
      type: 'slash_commands',
      payload: slashCommandPayload({ text: r.pick(['help', 'status staging', 'bogus']), user }),
    }),
    () => ({
      type: 'interactive',
      payload: buttonClickPayload({ user, actionId: r.pick(['azora:approve:r0fuzz1', 'other']) }),
    }),
    () => ({
      type: 'events_api',
      payload: {
        type: 'event_callback',
        team_id: 'T0AZORA',
        event: {
          type: r.pick(['app_mention', 'message']),
          channel: 'C0AZORAOPS',
          user,
          text: 'hi',
        },
      },
    }),
  ];
  const base: Record<string, unknown> = {
    envelope_id: envelopeId,
    ...r.pick(sources)(),
    accepts_response_payload: r.chance(0.5),
  };
  let id: string | undefined = envelopeId;
  switch (r.int(6)) {
    case 0:
      what.push('type');
      base.type = r.pick([
        'close',
        'error',
        'connected',
        'ws_message',
        'slack_event',
        'hello_world',
        garbage(r),
      ]);
      // A real disconnect makes the client reconnect, as it should: not what this run looks at.
      if (base.type === 'disconnect') base.type = 'close';
      // A hello is Slack's own control message: nothing to acknowledge.
      if (base.type === 'hello') id = undefined;
      break;
    case 1:
      what.push('envelope_id');
      base.envelope_id = r.pick([undefined, '', 7, null, ['x'], { id: 'x' }]);
      id = undefined;
      break;
    case 2:
      if (r.chance(0.5)) {
        what.push('no envelope');
        return { text: JSON.stringify(garbage(r)), what };
      }
      what.push('not JSON');
      return { text: r.string(r.int(40), UNICODE), what };
    default:
      base.payload = mutate(r, base.payload, what);
  }
  return { text: JSON.stringify(base), ...(id ? { envelopeId: id } : {}), what };
}

describe(`fuzzing the Socket Mode connection (FUZZ_SEED=${SEED})`, () => {
  let t: TestBot;
  let socket: SlackSocketServer;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeAll(async () => {
    t = await startTestBot({ role: 'web', socketMode: true });
    socket = t.socket!;
    await socket.waitForConnections(1);
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await t.stop();
  });

  it(`acknowledges every envelope of ${CASES} mutated frames within 3 s, and stays connected and well`, async () => {
    const r = new Random(SEED);
    const frames = Array.from({ length: CASES }, (_, i) => frame(r, i));
    const [connection] = socket.openConnections as [number];
    const late: string[] = [];
    for (let start = 0; start < frames.length; start += BATCH) {
      const batch = frames.slice(start, start + BATCH);
      const sentAt = Date.now();
      for (const f of batch) socket.sendRaw(connection, f.text);
      await Promise.all(
        batch
          .filter((f) => f.envelopeId)
          .map((f) =>
            socket
              .waitForAck((a) => a.envelopeId === f.envelopeId, ACK_WITHIN_MS)
              .then((ack) => {
                if (Date.now() - sentAt > ACK_WITHIN_MS) late.push(`${f.envelopeId} after ${ack.afterMs} ms`);
              })
              .catch(() =>
                late.push(
                  `${f.envelopeId} [${f.what.join('; ')}] never acknowledged: ${f.text.slice(0, 200)}`,
                ),
              ),
          ),
      );
      if (late.length > 10) break;
    }
    expect({ seed: SEED, late: late.slice(0, 10) }).toEqual({ seed: SEED, late: [] });
    const withId = frames.filter((f) => f.envelopeId).length;
    expect(withId).toBeGreaterThan(CASES / 2);

    expect(rejections.map((e) => (e instanceof Error ? e.message : String(e)))).toEqual([]);
    // The same connection throughout: no frame made the client reconnect.
    expect(socket.openConnections).toEqual([connection]);
    expect(socket.opens).toHaveLength(1);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const ack = await socket.slashCommand({ text: 'help', user: 'U0FUZZEND' }).acked;
    expect((ack.payload as { text: string }).text).toContain('status <environment>');
  }, 120_000);
});
