import { digestMessage, alertParentMessage } from '../../src/alerts/views';
import type { AlertGroup } from '../../src/alerts/domain/group';
import { clip, fitForSlack, type SlackMessage } from '../../src/kernel/slack/blocks';
import { logChunks } from '../../src/logs/views';
import type { OpsRequest, PlanStep } from '../../src/requests/domain/types';
import { requestMessage } from '../../src/requests/views';
import { checkMessage } from '../../sandbox/slack-blocks';

/**
 * Views fed the longest and oddest outside text they can get still make messages Slack
 * takes, judged by the same checks the simulated Slack makes of every message in the
 * other tests (sandbox/slack-blocks.ts), and lose nothing a reader must see.
 */

const NOW = Date.UTC(2026, 11, 4, 3, 0, 0);
const refusalOf = (message: SlackMessage) => checkMessage({ ...fitForSlack(message) });
/** A lone half of a surrogate pair: what cutting inside an emoji leaves. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('views at Slack’s limits', () => {
  it('shows an approver every step of a long plan, over as many sections as it takes', () => {
    const plan: PlanStep[] = Array.from({ length: 80 }, (_, i) => ({
      kind: 'scale',
      service: `service-${String(i).padStart(2, '0')}-with-a-long-name`,
      target: `azora-service-${i}`,
      from: 3,
      to: 10,
    }));
    const request: OpsRequest = {
      id: 'r0000beef',
      verb: 'scale',
      environment: 'production',
      services: plan.map((s) => s.service),
      args: {},
      requester: 'U0ENGINEER',
      channel: 'C0AZORAOPS',
      source: 'command',
      status: 'pending-approval',
      createdAt: NOW,
      expiresAt: NOW + 900_000,
      plan,
    };
    const message = requestMessage(request, NOW);
    expect(refusalOf(message)).toBeUndefined();
    const shown = JSON.stringify(message.blocks);
    for (const step of plan) expect(shown).toContain(step.service);
    expect(shown).not.toContain('…');
    expect(message.blocks.filter((b) => b.type === 'section').length).toBeGreaterThan(1);
    expect(message.blocks.at(-1)).toMatchObject({ type: 'actions' });
  });

  it('keeps a log line of escapes inside its code block', () => {
    const [chunk] = logChunks([
      { pod: 'payment-7d9-abc', time: '2026-12-04T03:00:00.000Z', text: '&'.repeat(5_000) },
    ]);
    expect(refusalOf(chunk!)).toBeUndefined();
    const text = (chunk!.blocks[0] as { text: { text: string } }).text.text;
    expect(text.startsWith('```')).toBe(true);
    expect(text.endsWith('```')).toBe(true);
  });

  it('says so when no line of a storm digest is left, rather than send an empty section', () => {
    expect(refusalOf(digestMessage({ total: 0, firing: 0, lines: [] }))).toBeUndefined();
  });

  it('cuts a summary of emoji between characters, never inside one', () => {
    const summary = '🔥'.repeat(2_000);
    expect(clip(summary, 3_000)).not.toMatch(LONE_SURROGATE);
    expect(clip(`x${summary}`, 3_000)).not.toMatch(LONE_SURROGATE);
    const group: AlertGroup = {
      id: '0123456789abcdef',
      groupKey: '{}:{}',
      status: 'firing',
      alertname: 'AzoraHighErrorRate',
      severity: 'critical',
      summary: `x${summary}`,
      groupLabels: {},
      channel: 'C0ALERTS',
      alerts: {},
      openedAt: NOW,
      episode: 1,
      lastDelivery: 'x',
      updatedAt: NOW,
    };
    const message = alertParentMessage(group, {
      acknowledge: true,
      silence: true,
      runbooks: ['rollback', 'logs'],
    });
    expect(refusalOf(message)).toBeUndefined();
    expect(JSON.stringify(message)).not.toMatch(/\\ud83d(?!\\udd25)/);
  });
});
