import type { KnownBlock } from '@slack/types';
import type { OpsRequest, PlanStep } from '../../src/requests/domain/types';
import type { AlertGroup } from '../../src/alerts/domain/group';
import { buttonsFor, safeRunbookUrl } from '../../src/alerts/notify';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { releasesMessage } from '../../src/releases/views';
import { planText } from '../../src/requests/views';
import type { ReleaseRecord } from '../../src/kernel/domain/release';
import {
  alertParentMessage,
  DIGEST_LINE_MAX,
  DIGEST_LINES,
  digestLine,
  digestMessage,
} from '../../src/alerts/views';
import { helpMessage, refusalMessage } from '../../src/commands/help';
import { oncallMessage } from '../../src/oncall/views';
import {
  clip,
  BLOCKS_TEXT_LIMIT,
  fitForSlack,
  md,
  Mrkdwn,
  section,
  SECTION_LIMIT,
  type SlackMessage,
} from '../../src/kernel/slack/blocks';
import { logChunks } from '../../src/logs/views';
import { progressMessage, requestMessage, switchBackMessage } from '../../src/requests/views';
import { checkMessage } from '../../sandbox/slack-blocks';

// Views are pure functions of domain state; these golden files pin the Block Kit they produce.
const NOW = Date.UTC(2026, 10, 26, 3, 0, 0);
const pending: OpsRequest = {
  id: 'r0000abcd',
  verb: 'rollback',
  environment: 'production',
  services: ['payment', 'auth'],
  args: {},
  requester: 'U0ENGINEER',
  channel: 'C0AZORAOPS',
  source: 'command',
  status: 'pending-approval',
  createdAt: NOW,
  expiresAt: NOW + 900_000,
  plan: [
    { kind: 'switch', service: 'payment', serviceName: 'azora-payment', from: 'blue', to: 'green' },
    {
      kind: 'rollback',
      service: 'auth',
      deployment: 'azora-auth',
      replicaSet: 'azora-auth-5d8f',
      fromRevision: 3,
      toRevision: 2,
      fromImage: 'registry.azora.world/azora/auth:v1.5.0',
      toImage: 'registry.azora.world/azora/auth:v1.4.1',
    },
  ],
};

const alertGroup = (fields: Partial<AlertGroup>): AlertGroup => ({
  id: '0123456789abcdef',
  groupKey: '{}:{}',
  status: 'firing',
  alertname: 'AzoraHighErrorRate',
  severity: 'critical',
  summary: 'error rate over 5%',
  groupLabels: {},
  channel: 'C0ALERTS',
  alerts: {},
  openedAt: NOW,
  episode: 1,
  lastDelivery: 'x',
  updatedAt: NOW,
  ...fields,
});
/** What the simulated Slack (and Slack) would refuse of a message as it leaves; undefined when taken. */
const refusalOf = (message: SlackMessage) => checkMessage({ ...fitForSlack(message) });
/** A lone half of a surrogate pair: what cutting inside an emoji leaves. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('Block Kit views', () => {
  it('a request waiting for approval', () => {
    expect(requestMessage(pending, NOW + 60_000)).toMatchSnapshot();
  });

  it('a request after approval, and its finished progress', () => {
    const done: OpsRequest = {
      ...pending,
      status: 'succeeded',
      approvedBy: { user: 'U0APPROVER1', at: NOW + 120_000 },
      startedAt: NOW + 121_000,
      finishedAt: NOW + 161_000,
      outcome: ['payment: traffic blue → green · /api/pay/health healthy'],
    };
    expect(requestMessage(done)).toMatchSnapshot();
    expect(progressMessage(done)).toMatchSnapshot();
  });

  it('the switch-back offer and its end', () => {
    expect(switchBackMessage(pending, NOW + 900_000)).toMatchSnapshot();
    expect(switchBackMessage(pending, undefined).text).toBe('Bake window over.');
  });

  it('help', () => {
    expect(helpMessage()).toMatchSnapshot();
  });

  it('splits long logs into messages Slack accepts', () => {
    const lines = Array.from({ length: 200 }, (_, i) => ({
      pod: 'azora-payment-blue-7c9d-x2k4p',
      time: `2026-11-26T03:00:${String(i % 60).padStart(2, '0')}.000Z`,
      text: `request ${i} ${'x'.repeat(40)} \`\`\`fence`,
    }));
    const chunks = logChunks(lines);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(2_800);
    expect(chunks.flatMap((c) => c.text.split('\n'))).toHaveLength(200);
    expect(chunks[0]!.text.split('\n')[0]).toBe(
      `03:00:00.000 7c9d-x2k4p | request 0 ${'x'.repeat(40)} '''fence`,
    );
  });
});

describe('outside text in views', () => {
  const hostile = '<!channel> <https://evil.example|Approve> <@U0APPROVER1> & more';
  const group = alertGroup({
    alertname: hostile,
    severity: '<!here>',
    summary: hostile,
    runbookUrl: 'javascript:alert(1)',
  });

  it('shows alert labels and annotations literally: no channel ping, no spoofed link', () => {
    const message = alertParentMessage(group, {
      acknowledge: false,
      silence: false,
      silenced: false,
      runbooks: [],
    });
    const rendered = JSON.stringify(message);
    expect(rendered).not.toContain('<!channel>');
    expect(rendered).not.toContain('<!here>');
    expect(rendered).not.toContain('<https://evil.example');
    expect(rendered).not.toContain('<@U0APPROVER1>');
    expect(rendered).toContain('&lt;!channel&gt; &lt;https://evil.example|Approve&gt;');
    expect(message.text).toContain('&lt;!channel&gt;');
    // A runbook that is not an https link on an allowed host is text, not a button.
    expect(rendered).not.toContain('"url"');
    expect(rendered).toContain('javascript:alert(1)');
  });

  it('makes a runbook link only of https URLs, and only on listed hosts when the policy lists any', () => {
    expect(safeRunbookUrl('https://runbooks.azora.example/high-errors', undefined)).toBe(
      'https://runbooks.azora.example/high-errors',
    );
    expect(safeRunbookUrl('http://runbooks.azora.example/x', undefined)).toBeUndefined();
    // The sandbox serves its runbooks over http on this machine.
    expect(safeRunbookUrl('http://localhost:3000/sandbox/runbooks/x', undefined)).toBe(
      'http://localhost:3000/sandbox/runbooks/x',
    );
    expect(safeRunbookUrl('javascript:alert(1)', undefined)).toBeUndefined();
    expect(safeRunbookUrl('https://user:pw@runbooks.azora.example/x', undefined)).toBeUndefined();
    expect(safeRunbookUrl('https://evil.example/x', ['runbooks.azora.example'])).toBeUndefined();
    expect(safeRunbookUrl('https://runbooks.azora.example/x', ['runbooks.azora.example'])).toBe(
      'https://runbooks.azora.example/x',
    );
    // Slack takes button URLs of up to 3,000 characters, and refuses the whole message past that.
    const long = `https://runbooks.azora.example/d?${'var-pod=payment-7d9&'.repeat(160)}`;
    expect(long.length).toBeGreaterThan(3_000);
    expect(safeRunbookUrl(long, undefined)).toBeUndefined();
    expect(safeRunbookUrl(long.slice(0, 3_000), undefined)).toBe(long.slice(0, 3_000));
  });

  it('escapes log lines, reasons and cluster errors, keeping only the bot’s own mentions', () => {
    const chunk = logChunks([{ pod: 'payment-7d9-abc', time: '2026-12-02T03:00:00.000Z', text: hostile }]);
    expect(JSON.stringify(chunk)).not.toContain('<!channel>');
    const failed = progressMessage({
      ...pending,
      status: 'failed',
      error: 'held by request `r1` of <@U0ENGINEER>: <!channel> <https://evil.example|x>',
    });
    expect(failed.text).toContain('<@U0ENGINEER>');
    expect(failed.text).not.toContain('<!channel>');
    expect(failed.text).toContain('&lt;https://evil.example|x&gt;');
  });

  it('escapes on-call names from PagerDuty and echoed refusals', () => {
    const oncall = oncallMessage([
      { escalationPolicy: '<!channel>', escalationPolicyId: 'P1', level: 1, user: '<@U0X>', schedule: '' },
    ]);
    expect(JSON.stringify(oncall)).not.toMatch(/<!channel>|<@U0X>/);
    expect(JSON.stringify(refusalMessage("unknown command '<!here>'", '/azora help'))).not.toContain(
      '<!here>',
    );
  });
});

/**
 * Views fed the longest and oddest outside text they can get still make messages Slack
 * takes, judged by the checks the simulated Slack makes of every message in the other
 * tests (sandbox/slack-blocks.ts), and lose nothing a reader must see.
 */
describe('what Slack refuses, never sent', () => {
  it('cuts a section over 3,000 characters outside any mention, link or entity', () => {
    const long = `${'x'.repeat(2_990)} <@U0APPROVER1> & more`;
    const block = section(md`${long}`) as { text: { text: string } };
    expect(block.text.text.length).toBeLessThanOrEqual(SECTION_LIMIT);
    expect(block.text.text.endsWith('…')).toBe(true);
    expect(block.text.text).not.toMatch(/&l?t?…$|&a?m?p?…$/);
    const mentioned = section(Mrkdwn.trusted(`${'y'.repeat(2_995)}<@U0APPROVER1>`)) as {
      text: { text: string };
    };
    expect(mentioned.text.text).toBe(`${'y'.repeat(2_995)}…`);
  });

  it('offers Silence 1h only with labels to match, and again once the silence has ended', () => {
    const deps = {
      policy: loadPolicy(defaultPolicyPath()),
      now: () => NOW,
      pagerduty: { enabled: false },
      alertmanager: {},
      graphs: {},
    };
    const shown = (group: AlertGroup) => {
      const rendered = JSON.stringify(alertParentMessage(group, buttonsFor(deps, group)));
      return { button: rendered.includes('Silence 1h'), note: rendered.includes(':mute: silenced by') };
    };
    const labelled = alertGroup({ groupLabels: { alertname: 'AzoraHighErrorRate' } });
    const silenced = (endsAt: number) => ({
      ...labelled,
      silence: { id: 's1', endsAt: new Date(endsAt).toISOString(), by: 'U0ONCALL' },
    });

    expect(shown(labelled)).toEqual({ button: true, note: false });
    expect(shown(silenced(NOW + 60_000))).toEqual({ button: false, note: true });
    expect(shown(silenced(NOW - 60_000))).toEqual({ button: true, note: false });
    // Nothing to match on (a route with no group_by, alerts sharing no label): no button.
    expect(shown(alertGroup({ groupLabels: {}, commonLabels: {} }))).toEqual({ button: false, note: false });
  });

  it('keeps an alert whose annotation is 10,000 characters postable', () => {
    const group = alertGroup({ summary: '<'.repeat(10_000) });
    const message = alertParentMessage(group, {
      acknowledge: false,
      silence: false,
      silenced: false,
      runbooks: [],
    });
    expect(refusalOf(message)).toBeUndefined();
    expect(JSON.stringify(message.blocks)).toContain('*Severity* critical · *Firing*');
    for (const block of message.blocks) {
      const text = (block as { text?: { text: string } }).text?.text ?? '';
      expect(text.length).toBeLessThanOrEqual(SECTION_LIMIT);
    }
  });

  it('splits log lines full of escaped characters into chunks Slack takes', () => {
    const lines = Array.from({ length: 50 }, (_, i) => ({
      pod: 'payment-7d9-abc',
      time: '2026-12-02T03:00:00.000Z',
      text: `${i} ${'<>&'.repeat(60)}`,
    }));
    const chunks = logChunks(lines);
    expect(chunks.reduce((n, c) => n + c.lines, 0)).toBe(50);
    for (const chunk of chunks) {
      const text = (chunk.blocks[0] as { text: { text: string } }).text.text;
      expect(text.length).toBeLessThanOrEqual(SECTION_LIMIT);
      expect(text.endsWith('```')).toBe(true);
    }
  });

  it('shows an approver every step of a long plan, over as many sections as it takes', () => {
    const plan: PlanStep[] = Array.from({ length: 80 }, (_, i) => ({
      kind: 'scale',
      service: `service-${String(i).padStart(2, '0')}-with-a-long-name`,
      target: `azora-service-${i}`,
      from: 3,
      to: 10,
    }));
    const message = requestMessage({ ...pending, services: plan.map((s) => s.service), plan }, NOW);
    expect(refusalOf(message)).toBeUndefined();
    const shown = JSON.stringify(message.blocks);
    for (const step of plan) expect(shown).toContain(step.service);
    expect(shown).not.toContain('…');
    expect(message.blocks.filter((b) => b.type === 'section').length).toBeGreaterThan(1);
    expect(message.blocks.at(-1)).toMatchObject({ type: 'actions' });
  });

  it('shows a log line without its terminal colours, and its other control bytes as symbols', () => {
    const lines = [
      '\x1b[31mERROR\x1b[0m payment failed\r',
      '\x1b]0;title\x07\x1b[2K\x1b[1;32mok\x1b[m',
      'nul\x00 bell\x07 del\x7f c1\x9b tab\tkept',
    ].map((text) => ({ pod: 'payment-7d9-abc', time: '2026-12-04T03:00:00.000Z', text }));
    const [chunk] = logChunks(lines);
    const shown = (chunk!.blocks[0] as { text: { text: string } }).text.text;
    expect(shown).toContain('7d9-abc | ERROR payment failed\n');
    expect(shown).toContain('7d9-abc | ok\n');
    expect(shown).toContain('7d9-abc | nul␀ bell␇ del␡ c1� tab\tkept');
    // eslint-disable-next-line no-control-regex -- no control byte but the tab may reach Slack
    expect(`${chunk!.text}${shown}`).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('keeps a log line of escapes inside its code block, and cuts one of emoji between characters', () => {
    // Either parity of the pairs against the cut: one of the two lines ends where a pair would split.
    for (const text of ['🔥'.repeat(3_000), `x${'🔥'.repeat(3_000)}`]) {
      const [emoji] = logChunks([{ pod: 'payment-7d9-abc', time: '2026-12-04T03:00:00.000Z', text }]);
      expect(refusalOf(emoji!)).toBeUndefined();
      expect(emoji!.text).not.toMatch(LONE_SURROGATE);
    }
    const [chunk] = logChunks([
      { pod: 'payment-7d9-abc', time: '2026-12-04T03:00:00.000Z', text: '&'.repeat(5_000) },
    ]);
    expect(refusalOf(chunk!)).toBeUndefined();
    const text = (chunk!.blocks[0] as { text: { text: string } }).text.text;
    expect(text.startsWith('```')).toBe(true);
    expect(text.endsWith('```')).toBe(true);
  });

  it('shows every line of a storm digest and the count of the rest, within what Slack takes in all', () => {
    const lines = Array.from(
      { length: DIGEST_LINES },
      (_, i) =>
        `:red_circle: *AzoraHighErrorRate* — payment-${i} in production: ${'error rate above 5% '.repeat(6)}`,
    );
    const digest = digestMessage({ total: 120, firing: 120, lines });
    expect(refusalOf(digest)).toBeUndefined();
    const shown = JSON.stringify(digest.blocks);
    for (const line of lines) expect(shown).toContain(JSON.stringify(line).slice(1, -1));
    expect(shown).toContain('…and 80 more');
    // One line however long its summary: forty of them stay under Slack's ~12,000 characters of blocks.
    const long = digestLine(alertGroup({ summary: 'x'.repeat(10_000) }));
    expect(long.length).toBeLessThanOrEqual(DIGEST_LINE_MAX);
    const full = digestMessage({
      total: 40,
      firing: 40,
      lines: Array.from({ length: DIGEST_LINES }, () => long),
    });
    const blockText = full.blocks.reduce((n, b) => n + JSON.stringify(b).length, 0);
    expect(blockText).toBeLessThan(12_000);
  });

  it('shows every release record asked for, however many sections they fill', () => {
    const history: ReleaseRecord[] = Array.from({ length: 20 }, (_, i) => ({
      id: `r${String(i).padStart(8, '0')}`,
      action: 'deploy',
      version: `v1.${i}.0`,
      image: `registry.azora.world/azora/payment:v1.${i}.0`,
      colour: i % 2 ? 'green' : 'blue',
      previous: { colour: i % 2 ? 'blue' : 'green', version: `v1.${i - 1}.0`, image: 'x' },
      requester: 'U0ENGINEER',
      approver: 'U0APPROVER1',
      start: Date.UTC(2026, 10, 1 + i),
      end: Date.UTC(2026, 10, 1 + i) + 754_000,
      result: i % 5 === 0 ? 'failed' : 'succeeded',
      ...(i % 5 === 0 ? { detail: `checks on green: ${'smoke /version failed '.repeat(100)}` } : {}),
    }));
    const reply = releasesMessage(
      'production',
      [{ service: 'payment', live: 'blue', versions: { blue: 'v1.19.0', green: 'v1.18.0' }, history }],
      20,
    );
    expect(refusalOf(reply)).toBeUndefined();
    const shown = JSON.stringify(reply.blocks);
    for (const record of history) expect(shown).toContain(record.id);
  });

  it('shows as much of an over-long log line as a section holds, not a fifth of it', () => {
    const trace = `{"level":"error","stack":"${'at handler (/app/dist/server.js:120:7) '.repeat(90)}"}`;
    expect(trace.length).toBeGreaterThan(3_000);
    const [chunk] = logChunks([{ pod: 'payment-7d9-abc', time: '2026-12-04T03:00:00.000Z', text: trace }]);
    expect(refusalOf(chunk!)).toBeUndefined();
    const shown = (chunk!.blocks[0] as { text: { text: string } }).text.text;
    expect(shown.length).toBeGreaterThan(2_700);
    expect(shown.length).toBeLessThanOrEqual(3_000);
    expect(shown.endsWith('…```')).toBe(true);
  });

  it('says in a scale’s plan what its autoscaler’s bounds become, and that scaling down caps it', () => {
    const scale = (from: number, to: number) =>
      planText([
        {
          kind: 'scale',
          service: 'api-gateway',
          target: 'azora-api-gateway-blue',
          from,
          to,
          hpa: { name: 'azora-api-gateway-blue', min: 3, max: 10 },
        } as PlanStep,
      ]);
    expect(scale(3, 5)).toContain('(autoscaler azora-api-gateway-blue 3–10 → 5–10)');
    expect(scale(5, 2)).toContain(
      '(autoscaler azora-api-gateway-blue 3–10 → 2–2: it cannot scale above 2 until its maximum is raised again)',
    );
  });

  it('keeps the text of all blocks under what Slack takes in one message, saying how many were left out', () => {
    const blocks = Array.from({ length: 20 }, (_, i) => section(`${i} ${'x'.repeat(1_500)}`));
    const fitted = fitForSlack({ text: 'many', blocks });
    const total = fitted.blocks.reduce(
      (n, b) => n + (b.type === 'section' ? (b.text?.text.length ?? 0) : 0),
      0,
    );
    expect(total).toBeLessThanOrEqual(BLOCKS_TEXT_LIMIT);
    expect(fitted.blocks.length).toBeLessThan(20);
    expect(JSON.stringify(fitted.blocks.at(-1))).toContain(
      `… and ${20 - (fitted.blocks.length - 1)} more, which Slack cannot show in one message`,
    );
    const few = { text: 'few', blocks: blocks.slice(0, 3) };
    expect(fitForSlack(few)).toBe(few);
  });

  it('keeps a request’s Approve and Deny when its plan is longer than Slack takes in one message', () => {
    const buttons: KnownBlock = {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'azora:approve:r0000abc',
          text: { type: 'plain_text', text: 'Approve' },
        },
      ],
    };
    const plan = Array.from({ length: 8 }, (_, i) => section(`${i} ${'step '.repeat(400)}`));
    const fitted = fitForSlack({ text: 'request', blocks: [...plan, buttons] });
    expect(fitted.blocks.at(-1)).toEqual(buttons);
    expect(JSON.stringify(fitted.blocks.at(-2))).toContain('more, which Slack cannot show in one message');
    expect(refusalOf(fitted)).toBeUndefined();
  });

  it('says so when no line of a storm digest is left, rather than send an empty section', () => {
    expect(refusalOf(digestMessage({ total: 0, firing: 0, lines: [] }))).toBeUndefined();
  });

  it('cuts a summary of emoji between characters, never inside one', () => {
    const summary = '🔥'.repeat(2_000);
    expect(clip(summary, 3_000)).not.toMatch(LONE_SURROGATE);
    expect(clip(`x${summary}`, 3_000)).not.toMatch(LONE_SURROGATE);
    const group = alertGroup({ summary: `x${summary}` });
    const message = alertParentMessage(group, {
      acknowledge: true,
      silence: true,
      silenced: false,
      runbooks: ['rollback', 'logs'],
    });
    expect(refusalOf(message)).toBeUndefined();
    expect(JSON.stringify(message)).not.toMatch(/\\ud83d(?!\\udd25)/);
  });
});
