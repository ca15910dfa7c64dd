import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimulatedPagerDuty } from '../../sandbox/pagerduty';
import type { AlertmanagerOptions, TestAlertmanager } from './alertmanager';
import { startTestBot, type TestBot } from './bot';
import { startTestCluster, type TestCluster } from './cluster';
import { WEBHOOK_TOKEN } from './ids';
import { freePort } from './redis-server';

export interface AlertingRig<A extends TestAlertmanager> {
  t: TestBot;
  am: A;
  pagerduty: SimulatedPagerDuty;
  cluster: TestCluster;
  stop(): Promise<void>;
}

/**
 * The bot as the alert tests run it: the simulated cluster, a simulated PagerDuty over
 * TLS, and Alertmanager (`alertmanager`: one, or an HA pair) delivering to its webhook
 * every second, with the outbox's channel gap short so threads come at once.
 */
export async function startAlertingRig<A extends TestAlertmanager>(
  alertmanager: (options: AlertmanagerOptions) => Promise<A>,
  env: NodeJS.ProcessEnv = {},
): Promise<AlertingRig<A>> {
  const caDir = mkdtempSync(path.join(tmpdir(), 'azora-pd-'));
  const cluster = await startTestCluster();
  const pagerduty = await new SimulatedPagerDuty().start();
  const caFile = await pagerduty.writeCa(path.join(caDir, 'ca.pem'));
  const port = await freePort();
  const am = await alertmanager({
    webhookUrl: `http://127.0.0.1:${port}/alertmanager`,
    webhookToken: WEBHOOK_TOKEN,
    groupInterval: '1s',
  });
  const policy = { ...cluster.policy, alerts: { ...cluster.policy.alerts, slackGap: 50 } };
  const t = await startTestBot({
    cluster: { ...cluster, policy },
    policy,
    env: {
      PORT: String(port),
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      ALERTMANAGER_URL: am.url,
      ...pagerduty.env(caFile),
      ...env,
    },
  });
  return {
    t,
    am,
    pagerduty,
    cluster,
    async stop() {
      await t.stop();
      await am.stop();
      await pagerduty.stop();
      await cluster.sim.stop();
      rmSync(caDir, { recursive: true, force: true });
    },
  };
}
