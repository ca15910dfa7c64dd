import type { OpsRequest } from '../../src/domain/requests/types';
import { helpMessage } from '../../src/views/help';
import { logChunks } from '../../src/views/logs';
import { progressMessage, requestMessage, switchBackMessage } from '../../src/views/request';

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
