import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import {
  chooseRollbackReplicaSet,
  ownedReplicaSets,
  rollbackPatch,
  sameTemplate,
} from '../../src/kernel/kubernetes/rollout-undo';
import { mergeLogs, parseLogLines } from '../../src/kernel/kubernetes/logs';

const template = (image: string, hash?: string) => ({
  metadata: { labels: { app: 'azora-payment', ...(hash ? { 'pod-template-hash': hash } : {}) } },
  spec: { containers: [{ name: 'payment', image }] },
});

const deployment: V1Deployment = {
  metadata: {
    name: 'azora-payment',
    uid: 'uid-1',
    annotations: {
      'deployment.kubernetes.io/revision': '3',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      team: 'payments',
    },
  },
  spec: { selector: { matchLabels: { app: 'azora-payment' } }, template: template('pay:1.5.0') },
};

const rs = (
  revision: number,
  image: string,
  owner = 'uid-1',
  extra: Record<string, string> = {},
): V1ReplicaSet => ({
  metadata: {
    name: `azora-payment-${revision}`,
    annotations: { 'deployment.kubernetes.io/revision': String(revision), ...extra },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'azora-payment', uid: owner, controller: true },
    ],
  },
  spec: { selector: { matchLabels: {} }, template: template(image, `h${revision}`) },
});

describe('kubectl rollout undo, as a pure computation', () => {
  const history = [
    rs(1, 'pay:1.4.0'),
    rs(3, 'pay:1.5.0'),
    rs(2, 'pay:1.4.1', 'uid-1', { 'deploy.azora/by': 'ci' }),
    rs(9, 'x', 'other'),
  ];

  it('keeps only the deployment’s own ReplicaSets, newest first', () => {
    expect(ownedReplicaSets(deployment, history).map((r) => r.metadata!.name)).toEqual([
      'azora-payment-3',
      'azora-payment-2',
      'azora-payment-1',
    ]);
  });

  it('goes back to the second newest revision, or exactly the one asked for', () => {
    const owned = ownedReplicaSets(deployment, history);
    expect(chooseRollbackReplicaSet(deployment, owned).metadata!.name).toBe('azora-payment-2');
    expect(chooseRollbackReplicaSet(deployment, owned, 1).metadata!.name).toBe('azora-payment-1');
    expect(() => chooseRollbackReplicaSet(deployment, owned, 7)).toThrow(
      'deployment azora-payment has no revision 7 (revisions: 3, 2, 1)',
    );
    expect(() => chooseRollbackReplicaSet(deployment, owned.slice(0, 1))).toThrow('has no earlier revision');
  });

  it('refuses a paused deployment', () => {
    const paused = { ...deployment, spec: { ...deployment.spec!, paused: true } };
    expect(() => chooseRollbackReplicaSet(paused, ownedReplicaSets(deployment, history))).toThrow(
      /is paused; resume it/,
    );
  });

  it('patches the template without its hash and keeps the deployment’s own annotations', () => {
    const patch = rollbackPatch(
      deployment,
      rs(2, 'pay:1.4.1', 'uid-1', { 'deploy.azora/by': 'ci', 'deployment.kubernetes.io/revision': '2' }),
    );
    expect(patch).toEqual([
      { op: 'replace', path: '/spec/template', value: template('pay:1.4.1') },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: {
          'deployment.kubernetes.io/revision': '3',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'deploy.azora/by': 'ci',
        },
      },
    ]);
  });

  it('compares templates ignoring the hash label and key order', () => {
    expect(sameTemplate(template('a', 'h1'), template('a'))).toBe(true);
    expect(sameTemplate(template('a'), template('b'))).toBe(false);
    const reordered = {
      spec: { containers: [{ image: 'a', name: 'payment' }] },
      metadata: { labels: { app: 'azora-payment' } },
    };
    expect(sameTemplate(template('a'), reordered)).toBe(true);
  });
});

describe('log lines across pods', () => {
  it('orders by the kubelet time stamp, filters, keeps the last N, redacts', () => {
    const a = parseLogLines(
      'pod-a',
      '2026-11-26T10:00:01.000Z first\n2026-11-26T10:00:03.000Z timeout password=x\n',
    );
    const b = parseLogLines('pod-b', '2026-11-26T10:00:02.000Z second timeout\n');
    expect(mergeLogs([a, b], { lines: 10 }).map((l) => `${l.pod} ${l.text}`)).toEqual([
      'pod-a first',
      'pod-b second timeout',
      'pod-a timeout password=[redacted]',
    ]);
    expect(mergeLogs([a, b], { lines: 1, grep: 'TIMEOUT' }).map((l) => l.text)).toEqual([
      'timeout password=[redacted]',
    ]);
  });
});
