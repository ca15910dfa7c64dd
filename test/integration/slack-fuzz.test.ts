import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  fuzzSeed,
  inPool,
  postWithin,
  Random,
  signedSlackRequest,
  type FuzzAnswer,
  type RawRequest,
} from '../kit/slack-fuzz';
import { waitFor } from '../kit/wait';

/**
 * Thousands of mutated Slack and Alertmanager bodies against the real bot (web and worker,
 * real Redis, the simulated cluster). Every one must be answered, below 500, well before
 * Bolt's 3-second timer; afterwards the bot must be healthy and the cluster untouched.
 * A failure names the seed; `FUZZ_SEED=<seed> npx jest test/integration/slack-fuzz.test.ts`
 * replays the very same requests.
 */
const SEED = fuzzSeed(20_260_512);
const CASES = Number(process.env.FUZZ_CASES ?? 2_000);
const CONCURRENCY = 12;
/** Bolt's own timer answers after 3 s; anything that needs it, or hangs, fails here. */
const ANSWER_WITHIN_MS = 2_000;
/** After this many failures the run stops: enough to see the pattern. */
const MAX_FAILURES = 10;
const WEBHOOK_TOKEN = 'fuzz-webhook-token';
const FORM = 'application/x-www-form-urlencoded';

interface FuzzCase {
  kind: string;
  /** The mutations applied, in order: what a failure message names. */
  what: string[];
  request: RawRequest;
  /** An exact status when the case knows it (a forged signature: 401). */
  expect?: number;
}

// ---------------------------------------------------------------- building blocks

const UNICODE = 'aé€😀\u202e\u200b\u0000\t\n"\'\\&=%+<>{}[]🏳️‍🌈ﷺ𝕏';
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function weirdString(r: Random): string {
  switch (r.int(9)) {
    case 0:
      return '';
    case 1:
      return r.string(1 + r.int(20), UNICODE);
    case 2:
      return 'x'.repeat(10_000 + r.int(100_000));
    case 3:
      return r.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype']);
    case 4:
      return r.pick(['null', 'undefined', 'NaN', '-1', '1e309', '0x10', '[]', '{}']);
    case 5:
      return `%${r.string(2, 'zZ0-%')}`;
    case 6:
      return r.string(1 + r.int(40), ALNUM);
    case 7:
      return ' '.repeat(r.int(5)) + '\n\r\t';
    default:
      return r.string(200 + r.int(600), UNICODE + ALNUM);
  }
}

/** Any JSON value, now and then deep or wide. */
function garbage(r: Random, depth = 0): unknown {
  const roll = r.int(depth > 3 ? 6 : 10);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
    case 3:
    case 4:
      return weirdString(r);
    case 5:
      return [];
    case 6:
      return Array.from({ length: r.int(4) }, () => garbage(r, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: r.int(4) }, () => [
          r.pick(['id', 'type', 'user', 'actions', 'event', '__proto__', weirdString(r)]),
          garbage(r, depth + 1),
        ]),
      );
    case 8: {
      // Deeply nested: JSON.parse takes it, code that walks it recursively might not.
      let value: unknown = 'bottom';
      for (let i = 0; i < 2_000; i += 1) value = r.chance(0.5) ? [value] : { a: value };
      return value;
    }
    default:
      return Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i]));
  }
}

const form = (fields: [string, string][]) => new URLSearchParams(fields).toString();

/** Raw damage to an already encoded body: cut short, stray bytes, doubled separators. */
function damageBody(r: Random, body: string, what: string[]): string {
  if (!r.chance(0.12)) return body;
  switch (r.int(4)) {
    case 0:
      what.push('truncated');
      return body.slice(0, r.int(body.length + 1));
    case 1:
      what.push('stray bytes');
      return body + r.pick(['&', '&&', '%', '%zz', '=', '&=&', '\u0000', '&payload', '&payload=']);
    case 2:
      what.push('raw unicode');
      return body.replace(/%2C|%3A/, r.string(3, UNICODE));
    default:
      what.push('doubled');
      return `${body}&${body}`;
  }
}

/** Now and then a content type Bolt will not read as a form, or none at all. */
function contentTypeFor(r: Random, natural: string, what: string[]): string {
  if (!r.chance(0.1)) return natural;
  const type = r.pick([
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'multipart/form-data; boundary=x',
    FORM,
    '',
  ]);
  what.push(`content-type '${type}'`);
  return type;
}

// ---------------------------------------------------------------- Slack cases

/** Command text: never a change the staging environment (no approval) would carry out. */
function commandText(r: Random): string {
  const env = () => r.pick(['production', 'prod', 'nowhere', 'PRODUCTION', 'qa', '']);
  const anyEnv = () => r.pick(['staging', 'stg', 'production', 'prod', 'nowhere']);
  const service = () =>
    r.pick(['payment', 'auth', 'api-gateway', 'nosuch', 'postgres-replica', weirdString(r)]);
  switch (r.int(12)) {
    case 0:
      return r.pick(['help', '', 'help scale', 'help nonsense', 'HELP']);
    case 1:
      return `status ${anyEnv()}`;
    case 2:
      return `scale ${env()} ${service()} ${r.pick(['4', '0', '99', '-1', 'x', '1e3', '３'])}`;
    case 3:
      return `rollback ${env()} ${service()}${r.chance(0.3) ? ` to ${r.pick(['1', '0', 'x', '999999'])}` : ''}`;
    case 4:
      return `switch ${env()} ${r.pick(['blue', 'green', 'purple', ''])}`;
    case 5:
      return `logs ${anyEnv()} ${service()} ${r.pick(['10', '100000', 'since 5m', 'grep "unbalanced', 'follow 10h'])}`;
    case 6:
      return `maintenance ${r.pick(['list', 'cancel', 'cancel m-nope', 'move', 'schedule', 'schedule tomorrow', 'now', 'now 99h'])}`;
    case 7:
      return `${r.pick(['status', 'scale', 'rollback', 'logs'])} ${r.pick(['constructor', '__proto__', 'toString'])} ${r.pick(['constructor', '__proto__', 'payment'])}`;
    case 8:
      return 'x '.repeat(200 + r.int(400));
    case 9:
      return `"${r.string(r.int(30), UNICODE)}`;
    case 10:
      return r.string(r.int(50), UNICODE + ALNUM + ' ');
    default:
      return weirdString(r);
  }
}

function slashCommand(r: Random, t: TestBot): FuzzCase {
  const what: string[] = [];
  const user = r.pick(['U0ENGINEER', 'U0OTHER', 'W0ENTERPRISE']);
  const fields: [string, string][] = [
    ['token', 'deprecated'],
    ['team_id', 'T0AZORA'],
    ['team_domain', 'azora'],
    ['channel_id', 'C0AZORAOPS'],
    ['channel_name', 'ops'],
    ['user_id', user],
    ['user_name', user.toLowerCase()],
    ['command', '/azora'],
    ['text', commandText(r)],
    ['api_app_id', 'A0AZORA'],
    ['is_enterprise_install', 'false'],
    ['response_url', t.slack.responseUrl('C0AZORAOPS', user)],
    ['trigger_id', `${Date.now()}.${r.int(1e9)}.fuzz`],
  ];
  what.push(`text ${JSON.stringify(fields[8]![1].slice(0, 60))}`);
  for (let n = r.int(4); n > 0; n -= 1) {
    const i = r.int(fields.length);
    const key = fields[i]?.[0] ?? 'text';
    switch (r.int(6)) {
      case 0:
        what.push(`dropped ${key}`);
        fields.splice(i, 1);
        break;
      case 1: {
        const value =
          key === 'response_url'
            ? r.pick(['not a url', 'http://127.0.0.1:9/x', 'ftp://x', ''])
            : weirdString(r);
        what.push(`${key} = ${JSON.stringify(value.slice(0, 30))}`);
        if (fields[i]) fields[i] = [key, value];
        break;
      }
      case 2:
        what.push(`repeated ${key}`);
        fields.push([key, weirdString(r)]);
        break;
      case 3: {
        const extra = r.pick(['event', 'payload', 'ssl_check', 'type', 'actions', 'name', weirdString(r)]);
        what.push(`added ${JSON.stringify(extra.slice(0, 30))}`);
        fields.push([extra, r.pick(['x', '0', '1', 'null', '{}', JSON.stringify(garbage(r))])]);
        break;
      }
      case 4: {
        const command = r.pick(['/other', 'azora', '', '/AZORA', '/azora ', weirdString(r)]);
        what.push(`command ${JSON.stringify(command.slice(0, 30))}`);
        const at = fields.findIndex(([k]) => k === 'command');
        if (at >= 0) fields[at] = ['command', command];
        break;
      }
      default:
        what.push('shuffled');
        fields.sort(() => r.next() - 0.5);
    }
  }
  const body = damageBody(r, form(fields), what);
  const contentType = contentTypeFor(r, FORM, what);
  return {
    kind: 'slash command',
    what,
    request: signedSlackRequest(body, t.secret, { contentType: contentType }),
  };
}

function click(r: Random, t: TestBot): Record<string, unknown> {
  const user = r.pick(['U0ENGINEER', 'U0OTHER']);
  const kind = r.pick([
    'approve',
    'deny',
    'switch-back',
    'ack',
    'silence',
    'unsilence',
    'runbook-logs',
    'runbook-rollback',
    'runbook-scale-up',
    'runbook-switch-back',
    'runbook-link',
    'reboot',
    '',
  ]);
  // Random subjects: no request or alert group the bot knows, so no click can approve or run anything.
  const subject = r.pick([`r${r.string(8, ALNUM)}`, r.string(16, '0123456789abcdef'), '', weirdString(r)]);
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0AZORA' },
    api_app_id: 'A0AZORA',
    token: 'deprecated',
    container: { type: 'message', message_ts: '1.000001', channel_id: 'C0AZORAOPS', is_ephemeral: false },
    trigger_id: `${Date.now()}.${r.int(1e9)}.fuzz`,
    team: { id: 'T0AZORA', domain: 'azora' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: 'C0AZORAOPS', name: 'ops' },
    message: { type: 'message', ts: '1.000001', text: '', blocks: [] },
    state: { values: {} },
    response_url: t.slack.responseUrl('C0AZORAOPS', user),
    actions: [
      {
        type: 'button',
        action_id: r.chance(0.8) ? `azora:${kind}:${subject}` : weirdString(r),
        block_id: 'b',
        text: { type: 'plain_text', text: 'button', emoji: true },
        value: subject,
        action_ts: '1.000002',
      },
    ],
  };
}

const TOP_LEVEL = [
  'type',
  'user',
  'actions',
  'response_url',
  'team',
  'channel',
  'container',
  'trigger_id',
  'message',
  'state',
  'enterprise',
  'api_app_id',
];

function mutateInteraction(r: Random, payload: Record<string, unknown>, what: string[]): void {
  for (let n = 1 + r.int(3); n > 0; n -= 1) {
    const key = r.pick(TOP_LEVEL);
    switch (r.int(8)) {
      case 0:
        what.push(`dropped ${key}`);
        delete payload[key];
        break;
      case 1: {
        const value = garbage(r);
        what.push(`${key} = ${JSON.stringify(value)?.slice(0, 40)}`);
        payload[key] = value;
        break;
      }
      case 2: {
        const user = r.pick<unknown>([
          null,
          {},
          { id: 5 },
          { id: '' },
          'U0ENGINEER',
          [],
          { id: weirdString(r) },
        ]);
        what.push(`user = ${JSON.stringify(user).slice(0, 40)}`);
        payload.user = user;
        break;
      }
      case 3: {
        const actions = r.pick<unknown>([
          [],
          [null],
          'x',
          {},
          [{}],
          [{ action_id: 5 }],
          [{ action_id: 'azora:ack:x' }],
          null,
          Array.from({ length: 100 }, () => ({ type: 'button', action_id: 'azora:deny:r1' })),
        ]);
        what.push(`actions = ${JSON.stringify(actions).slice(0, 40)}`);
        payload.actions = actions;
        break;
      }
      case 4: {
        const action = Array.isArray(payload.actions)
          ? (payload.actions[0] as Record<string, unknown> | undefined)
          : undefined;
        if (action && typeof action === 'object') {
          const field = r.pick(['action_id', 'action_id', 'action_ts', 'type', 'block_id', 'value']);
          const value = r.pick<unknown>([undefined, 5, null, weirdString(r), ['azora:ack:x'], {}]);
          what.push(`actions[0].${field} = ${JSON.stringify(value)?.slice(0, 40)}`);
          if (value === undefined) delete action[field];
          else action[field] = value;
        }
        break;
      }
      case 5: {
        const type = r.pick([
          'view_submission',
          'view_closed',
          'block_suggestion',
          'shortcut',
          'message_action',
          'interactive_message',
          'dialog_submission',
          weirdString(r),
        ]);
        what.push(`type ${JSON.stringify(type.slice(0, 30))}`);
        payload.type = type;
        break;
      }
      case 6: {
        const extra = r.pick(['name', 'event', 'command', 'response_urls', 'function_data', 'view']);
        what.push(`added ${extra}`);
        payload[extra] = garbage(r);
        break;
      }
      default: {
        const url = r.pick<unknown>(['not a url', 'http://127.0.0.1:9/x', 7, null, '', weirdString(r)]);
        what.push(`response_url = ${JSON.stringify(url).slice(0, 40)}`);
        payload.response_url = url;
      }
    }
  }
}

function encodePayload(r: Random, payload: unknown, what: string[]): string {
  const json = JSON.stringify(payload) ?? 'undefined';
  switch (r.chance(0.15) ? r.int(3) : -1) {
    case 0:
      what.push('payload not url-encoded');
      return `payload=${json}`;
    case 1:
      what.push('payload twice');
      return form([
        ['payload', json],
        ['payload', json],
      ]);
    case 2:
      what.push('payload with a command beside it');
      return form([
        ['payload', json],
        ['command', '/azora'],
        ['text', 'help'],
      ]);
    default:
      return form([['payload', json]]);
  }
}

function blockActions(r: Random, t: TestBot): FuzzCase {
  const what: string[] = [];
  const payload = click(r, t);
  what.push(
    `action_id ${JSON.stringify(String((payload.actions as { action_id: unknown }[])[0]!.action_id).slice(0, 40))}`,
  );
  if (r.chance(0.8)) mutateInteraction(r, payload, what);
  const body = damageBody(r, encodePayload(r, payload, what), what);
  const contentType = contentTypeFor(r, FORM, what);
  return {
    kind: 'block_actions',
    what,
    request: signedSlackRequest(body, t.secret, { contentType: contentType }),
  };
}

function viewSubmission(r: Random, t: TestBot): FuzzCase {
  const what: string[] = [];
  const payload: Record<string, unknown> = {
    type: r.pick(['view_submission', 'view_closed']),
    team: { id: 'T0AZORA', domain: 'azora' },
    user: { id: 'U0ENGINEER', username: 'u', name: 'u', team_id: 'T0AZORA' },
    api_app_id: 'A0AZORA',
    token: 'deprecated',
    trigger_id: '1.2.fuzz',
    view: {
      id: 'V0FUZZ',
      type: 'modal',
      callback_id: r.pick(['azora:anything', 'unknown', weirdString(r)]),
      private_metadata: weirdString(r),
      state: { values: { b: { a: { type: 'plain_text_input', value: weirdString(r) } } } },
    },
    response_urls: [],
  };
  switch (r.int(5)) {
    case 0: {
      const view = r.pick<unknown>([
        null,
        'x',
        {},
        [],
        { id: 5 },
        { id: 'V1', callback_id: null },
        { id: 'V1', callback_id: 'c', state: null },
      ]);
      what.push(`view = ${JSON.stringify(view)}`);
      payload.view = view;
      break;
    }
    case 1: {
      const urls = r.pick<unknown>([
        null,
        'x',
        [null],
        [{ response_url: 5 }],
        [{ response_url: 'http://127.0.0.1:9/x' }],
        {},
      ]);
      what.push(`response_urls = ${JSON.stringify(urls)}`);
      payload.response_urls = urls;
      break;
    }
    case 2:
      mutateInteraction(r, payload, what);
      break;
    default:
      what.push('as is');
  }
  const body = damageBody(r, encodePayload(r, payload, what), what);
  return {
    kind: 'view payload',
    what,
    request: signedSlackRequest(body, t.secret, { contentType: FORM }),
  };
}

function payloadJunk(r: Random, t: TestBot): FuzzCase {
  const what: string[] = [];
  let raw: string;
  switch (r.int(6)) {
    case 0:
      raw = r.pick(['null', '[]', '"x"', '{}', '1', 'true', '""', '-0', '[null]', '{"type":null}']);
      break;
    case 1:
      raw = r.pick(['{', '{"type":"block_actions"', 'nul', 'undefined', '', ' ', "{'type':'x'}", '{"a":1}}']);
      break;
    case 2:
      raw = JSON.stringify({
        type: r.pick(['block_actions', 'shortcut', 'message_action', 'block_suggestion', 'view_submission']),
        ...Object.fromEntries(
          Array.from({ length: r.int(5) }, () => [
            r.pick([
              'user',
              'actions',
              'team',
              'channel',
              'callback_id',
              'trigger_id',
              'action_id',
              'block_id',
              'value',
              'view',
              'name',
            ]),
            garbage(r),
          ]),
        ),
      });
      break;
    default:
      raw = JSON.stringify(garbage(r)) ?? 'null';
  }
  what.push(`payload ${raw.slice(0, 60)}`);
  const body = damageBody(r, form([['payload', raw]]), what);
  return {
    kind: 'payload junk',
    what,
    request: signedSlackRequest(body, t.secret, { contentType: FORM }),
  };
}

function eventBody(r: Random): unknown {
  const event = (): unknown => {
    const base: Record<string, unknown> = {
      type: r.pick([
        'message',
        'app_mention',
        'reaction_added',
        'app_home_opened',
        'function_executed',
        'subteam_created',
        'channel_created',
      ]),
      user: 'U0ENGINEER',
      channel: 'C0AZORAOPS',
      text: 'hi',
      ts: '1.000001',
    };
    for (let n = r.int(3); n > 0; n -= 1) {
      const key = r.pick([
        'type',
        'user',
        'channel',
        'item',
        'subteam',
        'text',
        'channel_id',
        'thread_ts',
        'bot_id',
        'subtype',
        'message',
      ]);
      base[key] = r.chance(0.3) ? undefined : garbage(r);
    }
    return r.chance(0.1) ? garbage(r) : base;
  };
  switch (r.int(7)) {
    case 0:
      return { type: 'url_verification', token: 't', challenge: r.chance(0.7) ? weirdString(r) : garbage(r) };
    case 1:
      return { type: 'app_rate_limited', team_id: 'T0AZORA', minute_rate_limited: 1, api_app_id: 'A0AZORA' };
    case 2:
      return garbage(r);
    case 3:
      return { type: weirdString(r), event: event() };
    default: {
      const body: Record<string, unknown> = {
        token: 't',
        team_id: 'T0AZORA',
        api_app_id: 'A0AZORA',
        type: 'event_callback',
        event_id: 'Ev1',
        event_time: 1,
        event: event(),
      };
      if (r.chance(0.3))
        body.authorizations = r.pick<unknown>([
          [null],
          'x',
          [{}],
          [{ team_id: null, is_enterprise_install: 'x' }],
          [],
        ]);
      return body;
    }
  }
}

function eventsApi(r: Random, t: TestBot): FuzzCase {
  const what: string[] = [];
  let body = JSON.stringify(eventBody(r)) ?? 'null';
  what.push(`body ${body.slice(0, 80)}`);
  if (r.chance(0.08)) {
    what.push('truncated');
    body = body.slice(0, r.int(body.length));
  }
  const contentType = contentTypeFor(r, 'application/json', what);
  return {
    kind: 'events api',
    what,
    request: signedSlackRequest(body, t.secret, { contentType: contentType }),
  };
}

/** A body signed wrongly, or too long ago: Bolt's 401, whatever the body. */
function forged(r: Random, t: TestBot): FuzzCase {
  const inner = r.pick([slashCommand, blockActions, payloadJunk, eventsApi])(r, t);
  const { body } = inner.request;
  const contentType = inner.request.headers['content-type'] ?? FORM;
  const how = r.int(4);
  const headers =
    how === 0
      ? signedSlackRequest(body, 'not-the-secret', { contentType }).headers
      : how === 1
        ? signedSlackRequest(body, t.secret, {
            contentType,
            timestamp: Math.floor(Date.now() / 1000) - 301 - r.int(10_000),
          }).headers
        : how === 2
          ? { 'content-type': contentType, 'x-slack-request-timestamp': 'x', 'x-slack-signature': 'v0=00' }
          : { 'content-type': contentType };
  const why = ['another secret', 'stale timestamp', 'malformed signature headers', 'no signature'][how]!;
  // ssl_check is the one body Slack does not sign: it is answered 200, as it should be.
  const sslCheck = contentType === FORM && new URLSearchParams(body).get('ssl_check') === '1';
  return {
    kind: `forged (${why}) ${inner.kind}`,
    what: inner.what,
    request: { path: '/slack/events', headers, body },
    ...(sslCheck ? {} : { expect: 401 }),
  };
}

// ---------------------------------------------------------------- Alertmanager cases

function notification(r: Random): Record<string, unknown> {
  const status = r.pick(['firing', 'resolved']);
  const labels = {
    alertname: r.pick(['AzoraHighCPU', 'AzoraServiceDown', 'FuzzAlert']),
    namespace: r.pick(['azora-staging', 'azora-production', 'elsewhere']),
    service: r.pick(['payment', 'auth', 'nosuch']),
    severity: r.pick(['critical', 'warning', 'info']),
  };
  return {
    version: '4',
    groupKey: `{}:{alertname="${labels.alertname}"}-${r.int(50)}`,
    truncatedAlerts: 0,
    status,
    receiver: 'webhook',
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    commonAnnotations: { summary: 'fuzz' },
    externalURL: 'http://alertmanager:9093',
    alerts: Array.from({ length: 1 + r.int(3) }, () => ({
      status,
      labels,
      annotations: { summary: weirdString(r).slice(0, 200) },
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: r.string(16, '0123456789abcdef'),
    })),
  };
}

function alertmanager(r: Random): FuzzCase {
  const what: string[] = [];
  const body = notification(r);
  const keys = [
    'version',
    'groupKey',
    'truncatedAlerts',
    'status',
    'receiver',
    'groupLabels',
    'commonLabels',
    'commonAnnotations',
    'externalURL',
    'alerts',
  ];
  for (let n = r.chance(0.25) ? 0 : 1 + r.int(3); n > 0; n -= 1) {
    const key = r.pick(keys);
    switch (r.int(5)) {
      case 0:
        what.push(`dropped ${key}`);
        delete body[key];
        break;
      case 1: {
        const value = garbage(r);
        what.push(`${key} = ${JSON.stringify(value)?.slice(0, 40)}`);
        body[key] = value;
        break;
      }
      case 2: {
        const alerts = body.alerts;
        const alert = Array.isArray(alerts) ? (alerts[0] as Record<string, unknown> | undefined) : undefined;
        if (alert && typeof alert === 'object') {
          const field = r.pick([
            'status',
            'labels',
            'annotations',
            'startsAt',
            'endsAt',
            'fingerprint',
            'generatorURL',
          ]);
          const value = r.pick<unknown>([
            undefined,
            garbage(r),
            { alertname: 5 },
            { alertname: '' },
            { __proto__: 'x', alertname: 'A' },
          ]);
          what.push(`alerts[0].${field} = ${JSON.stringify(value)?.slice(0, 40)}`);
          alert[field] = value;
        }
        break;
      }
      case 3: {
        const alerts = r.pick<unknown>([
          [],
          null,
          [null],
          'x',
          Array.from({ length: 300 }, () => ({
            status: 'firing',
            labels: { alertname: 'Storm' },
            startsAt: 'x',
            fingerprint: r.string(8, ALNUM),
          })),
        ]);
        what.push(`alerts = ${JSON.stringify(alerts)?.slice(0, 40)}`);
        body.alerts = alerts;
        break;
      }
      default:
        what.push(`version = ${key}`);
        body.version = r.pick(['3', 4, '', null]);
    }
  }
  let raw = JSON.stringify(body);
  switch (r.chance(0.1) ? r.int(4) : -1) {
    case 0:
      what.push('truncated');
      raw = raw.slice(0, r.int(raw.length));
      break;
    case 1:
      what.push('not JSON');
      raw = r.pick(['', 'null', '[]', '"x"', 'version=4', '{']);
      break;
    case 2:
      what.push('over the 1 MB limit');
      raw = JSON.stringify({ ...body, padding: 'x'.repeat(1 << 20) });
      break;
    case 3:
      what.push('JSON null');
      raw = 'null';
  }
  const auth = r.chance(0.9)
    ? `Bearer ${WEBHOOK_TOKEN}`
    : r.pick(['', 'Bearer', 'Bearer wrong', `bearer ${WEBHOOK_TOKEN}`, WEBHOOK_TOKEN]);
  if (!auth.endsWith(` ${WEBHOOK_TOKEN}`) || !auth.startsWith('Bearer')) what.push(`authorization '${auth}'`);
  const headers: Record<string, string> = {
    'content-type': r.chance(0.9) ? 'application/json' : 'text/plain',
  };
  if (auth) headers.authorization = auth;
  return { kind: 'alertmanager', what, request: { path: '/alertmanager', headers, body: raw } };
}

// ---------------------------------------------------------------- the run

function generate(r: Random, t: TestBot): FuzzCase {
  const roll = r.next();
  if (roll < 0.22) return slashCommand(r, t);
  if (roll < 0.44) return blockActions(r, t);
  if (roll < 0.52) return viewSubmission(r, t);
  if (roll < 0.62) return payloadJunk(r, t);
  if (roll < 0.74) return eventsApi(r, t);
  if (roll < 0.78) return forged(r, t);
  return alertmanager(r);
}

interface ClusterState {
  [key: string]: unknown;
}

/** What a change to the cluster would alter: specs, labels, annotations, generations. */
function clusterState(cluster: TestCluster): ClusterState {
  const state: ClusterState = {};
  for (const kind of ['deployments', 'statefulsets', 'services', 'horizontalpodautoscalers']) {
    for (const obj of cluster.sim.list(kind)) {
      const { metadata, spec } = obj as { metadata: Record<string, unknown>; spec?: unknown };
      state[`${kind}/${String(metadata.namespace)}/${String(metadata.name)}`] = {
        generation: metadata.generation,
        labels: metadata.labels,
        annotations: metadata.annotations,
        spec,
      };
    }
  }
  return state;
}

const excerpt = (body: string) =>
  body.length > 300 ? `${JSON.stringify(body.slice(0, 300))}… (${body.length} chars)` : JSON.stringify(body);

describe(`fuzzing the Slack endpoint and the Alertmanager webhook (FUZZ_SEED=${SEED})`, () => {
  let cluster: TestCluster;
  let t: TestBot;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    cluster = await startTestCluster();
    t = await startTestBot({ role: 'all', cluster, env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN } });
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await t?.stop();
    await cluster?.sim.stop();
  });

  it(`answers ${CASES} mutated requests at once and below 500, and changes nothing`, async () => {
    await cluster.sim.settle();
    const before = clusterState(cluster);
    for (const kind of ['deployments', 'statefulsets', 'services', 'horizontalpodautoscalers']) {
      expect(Object.keys(before).some((key) => key.startsWith(`${kind}/`))).toBe(true);
    }
    const r = new Random(SEED);
    const cases = Array.from({ length: CASES }, () => generate(r, t));

    const started = Date.now();
    const failures: { index: number; text: string }[] = [];
    const judge = (c: FuzzCase, i: number, answer: FuzzAnswer): void => {
      const wrong =
        typeof answer.status !== 'number'
          ? `no answer within ${ANSWER_WITHIN_MS} ms (${answer.status}: ${answer.text})`
          : answer.status >= 500
            ? `answered ${answer.status}`
            : c.expect !== undefined && answer.status !== c.expect
              ? `answered ${answer.status}, expected ${c.expect}`
              : undefined;
      if (!wrong) return;
      failures.push({
        index: i,
        text:
          `#${i} ${c.kind} [${c.what.join('; ')}] ${wrong}\n` +
          `    POST ${c.request.path} content-type: ${JSON.stringify(c.request.headers['content-type'])}\n` +
          `    body: ${excerpt(c.request.body)}\n    answer: ${JSON.stringify(answer.text.slice(0, 200))}`,
      });
    };
    const answers = await inPool(cases, CONCURRENCY, async (c, i): Promise<FuzzAnswer | undefined> => {
      // A broken bot can hang every request: stop early, and say so, rather than run into Jest's timeout.
      if (failures.length >= MAX_FAILURES) return undefined;
      const answer = await postWithin(t.url, c.request, ANSWER_WITHIN_MS);
      judge(c, i, answer);
      return answer;
    });
    const elapsed = Date.now() - started;
    if (failures.length > 0) {
      const sent = answers.filter(Boolean).length;
      throw new Error(
        `${failures.length} of ${sent} fuzzed requests failed${sent < CASES ? ` (stopped early, of ${CASES})` : ''}; ` +
          `FUZZ_SEED=${SEED}, replay with FUZZ_SEED=${SEED} npx jest test/integration/slack-fuzz.test.ts\n` +
          failures
            .sort((a, b) => a.index - b.index)
            .slice(0, MAX_FAILURES)
            .map((f) => f.text)
            .join('\n'),
      );
    }

    // What the run covered, by kind of case and status: printed for whoever reads the log, and
    // checked to reach past the gate (listeners answered well-formed cases) as well as into it.
    const coverage: Record<string, Record<string, number>> = {};
    (answers as FuzzAnswer[]).forEach((a, i) => {
      const kind = cases[i]!.kind.startsWith('forged') ? 'forged' : cases[i]!.kind;
      const counts = (coverage[kind] ??= {});
      counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
    });
    process.stdout.write(
      `slack fuzz: FUZZ_SEED=${SEED}, ${CASES} requests in ${elapsed} ms; statuses by kind ${JSON.stringify(coverage)}\n`,
    );
    expect(coverage['slash command']).toEqual(
      expect.objectContaining({ 200: expect.any(Number), 400: expect.any(Number) }),
    );
    expect(coverage['block_actions']).toEqual(
      expect.objectContaining({ 200: expect.any(Number), 400: expect.any(Number) }),
    );
    expect(coverage['events api']).toEqual(
      expect.objectContaining({ 200: expect.any(Number), 400: expect.any(Number) }),
    );
    expect(coverage['alertmanager']).toEqual(
      expect.objectContaining({ 202: expect.any(Number), 400: expect.any(Number) }),
    );
    expect(Object.keys(coverage['forged'] ?? {})).toContain('401');

    expect(rejections.map((e) => (e instanceof Error ? e.message : String(e)))).toEqual([]);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);

    // What the fuzz queued that touches the cluster is done before the cluster is compared.
    await waitFor(
      () => t.bot.queues.get('ops').getJobCountByTypes('wait', 'active'),
      (n) => n === 0,
      { what: 'the ops queue to drain', timeoutMs: 15_000 },
    );
    await cluster.sim.settle();
    expect(clusterState(cluster)).toEqual(before);
  }, 60_000);
});
