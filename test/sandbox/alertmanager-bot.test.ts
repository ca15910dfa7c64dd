import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { PNG } from 'pngjs';
import { loadConfig } from '../../src/config/env';
import { expressionOfGeneratorUrl } from '../../src/graphs/domain/expression';
import { AlertmanagerClient } from '../../src/kernel/alertmanager';
import { startBot, type Bot } from '../../src/runtime';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AlertmanagerChoice, SandboxAlertmanager } from '../../sandbox/alertmanager';
import { findAlertmanager } from '../../sandbox/alertmanager/debian';
import { pushAlerts } from '../../sandbox/alertmanager/push';
import { ruleExpression } from '../../sandbox/prometheus';
import type { SimulatedMessage } from '../../sandbox/slack-api';
import type { AlertDelivery, AlertState, Snapshot } from '../../sandbox/workspace/wire';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../kit/redis';
import { waitFor } from '../kit/wait';
import { defaultPolicy, PRODUCTION } from './helpers';
import { RecordingWebhook } from './webhook-receiver';

/*
 * The sandbox as `npm start` runs it, in this process: the real bot (web and worker) with
 * the workspace's routes, and the sandbox's Alertmanager between the page's menu and the
 * bot's /alertmanager. A recorder in front of that webhook keeps what Alertmanager sent,
 * and passes it on to the bot.
 */

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const HOUR = 3_600_000;
const ALERT = 'AzoraServiceDown';
const GROUP = { alertname: ALERT, namespace: PRODUCTION, service: 'payment' };

interface MenuAnswer {
  ok: boolean;
  channel?: string;
  delivery?: AlertDelivery;
  error?: string;
}

const DEBIAN = findAlertmanager() !== undefined;
const variants: Array<{
  title: string;
  use: AlertmanagerChoice;
  kind: SandboxAlertmanager['kind'];
  run: boolean;
}> = [
  {
    title: DEBIAN
      ? "Debian's prometheus-alertmanager"
      : "Debian's prometheus-alertmanager (skipped: no prometheus-alertmanager on PATH; apt-get install prometheus-alertmanager)",
    use: 'auto',
    kind: 'prometheus-alertmanager',
    run: DEBIAN,
  },
  { title: 'the built-in one', use: 'builtin', kind: 'built-in', run: true },
];

for (const { title, use, kind, run } of variants) {
  (run ? describe : describe.skip)(`the sandbox's menu alerts go through its Alertmanager: ${title}`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azora-sandbox-am-bot-'));
    const prefix = uniquePrefix();
    let sandbox: Sandbox;
    let bot: Bot;
    let webhook: RecordingWebhook;
    let incidents: string;

    beforeAll(async () => {
      const env = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, AZORA_SANDBOX_DIR: dir, PORT: '0' };
      sandbox = await startSandbox({
        config: loadConfig(env),
        policy: defaultPolicy(),
        logger,
        env,
        alertmanager: use,
      });
      bot = await startBot({
        role: 'all',
        config: sandbox.config,
        slack: sandbox.slack,
        policy: sandbox.policy,
        logger,
        loadKubeConfig: sandbox.loadKubeConfig,
        extraRoutes: sandbox.routes,
      });
      webhook = await new RecordingWebhook(bot.web!.url).start();
      // What the launcher does once the bot listens; here the recorder stands in front of it.
      sandbox.listening(webhook.port);
      incidents = sandbox.policy.channels.incidents!;
    }, 60_000);

    afterAll(async () => {
      sandbox?.closeStreams();
      await bot?.stop(5_000);
      await sandbox?.stop();
      await webhook?.stop();
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    /** The page's Alertmanager menu: Fire or Resolve. */
    const menu = async (action: 'fire' | 'resolve', alertname = ALERT): Promise<MenuAnswer> => {
      const res = await fetch(`${bot.web!.url}/sandbox/api/alert`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ alertname, action }),
      });
      return (await res.json()) as MenuAnswer;
    };
    /** A button pressed on the page, as Erin (who may respond in production). */
    const press = async (message: SimulatedMessage, text: string): Promise<void> => {
      const res = await fetch(`${bot.web!.url}/sandbox/api/click`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          user: 'U0ENGINEER',
          channel: message.channel,
          messageTs: message.ts,
          actionId: buttonId(message, text),
        }),
      });
      expect(await res.json()).toMatchObject({ ok: true });
    };
    const alertMessage = (state: string) =>
      waitFor(
        () =>
          sandbox.simulatedSlack.messages.find(
            (m) => m.channel === incidents && !m.threadTs && m.text.includes(ALERT),
          ),
        (m) => m?.text.includes(state) === true,
        { what: `the bot's ${ALERT} message in #incidents to say ${state}` },
      ).then((m) => m!);
    const reply = (parent: SimulatedMessage, text: string) =>
      waitFor(
        () => sandbox.simulatedSlack.messages.find((m) => m.threadTs === parent.ts && m.text.includes(text)),
        (m) => m !== undefined,
        { what: `a reply saying "${text}"` },
      ).then((m) => m!);

    it('sends a fired alert through its Alertmanager to the bot, which posts it', async () => {
      expect(sandbox.alertmanager?.kind).toBe(kind);
      expect(await menu('fire')).toEqual({ ok: true, channel: incidents, delivery: { via: 'alertmanager' } });
      const [firing] = await webhook.until(ALERT, 1);
      expect(webhook.received[0]!.authorization).toBe(`Bearer ${sandbox.config.alertmanager.webhookToken}`);
      expect(firing).toMatchObject({
        status: 'firing',
        receiver: 'azora-chatops',
        groupLabels: GROUP,
        commonLabels: { ...GROUP, severity: 'critical' },
      });
      // The bot took it from Alertmanager and posted it.
      await alertMessage('FIRING:1');
    });

    it("draws the rule's expression from the sandbox's Prometheus into the alert's thread", async () => {
      const [firing] = await webhook.until(ALERT, 1);
      expect(expressionOfGeneratorUrl(firing!.alerts[0]!.generatorURL)).toBe(
        ruleExpression(ALERT, sandbox.policy),
      );
      const parent = await alertMessage('FIRING');
      const graph = await sandbox.simulatedSlack.waitForFile(
        (f) => f.state === 'complete' && f.threadTs === parent.ts,
        20_000,
      );
      expect(graph.name).toMatch(new RegExp(`^${ALERT}-.*\\.png$`));
      const png = PNG.sync.read(graph.bytes!);
      expect(png.width).toBeGreaterThan(0);
      // Not a `no graph: …` line: Prometheus answered, and the thread says nothing else went wrong.
      expect(
        sandbox.simulatedSlack.messages.filter(
          (m) => m.threadTs === parent.ts && m.text.includes('no graph'),
        ),
      ).toEqual([]);
    });

    it("holds what the menu sends while the thread's Silence 1h lasts; after Expire silence, the resolve reaches the bot", async () => {
      const parent = await alertMessage('FIRING:1');
      await press(parent, 'Silence 1h');
      const silenced = await reply(parent, 'silenced this group in Alertmanager');
      const client = new AlertmanagerClient(sandbox.alertmanager!.url, logger);
      const silence = (await client.listSilences()).find(
        (s) => s.createdBy === 'slack:U0ENGINEER' && s.status.state === 'active',
      )!;

      // Firing again is the same alert pushed again; the menu says what holds it.
      const again = await menu('fire');
      expect(again).toEqual({
        ok: true,
        channel: incidents,
        delivery: { via: 'silenced', silence: silence.id, until: silence.endsAt },
      });
      // The page's menu shows it under the alert.
      const shown = (await pageAlerts(bot.web!.url)).find((a) => a.alertname === ALERT);
      expect(shown).toMatchObject({ firing: true, delivery: { via: 'silenced', silence: silence.id } });

      await press(silenced, 'Expire silence');
      await reply(parent, 'expired the silence');
      expect(await menu('resolve')).toEqual({
        ok: true,
        channel: incidents,
        delivery: { via: 'alertmanager' },
      });
      await alertMessage('RESOLVED');
      const notifications = await webhook.until(ALERT, 2);
      expect(notifications.map((n) => n.status)).toEqual(['firing', 'resolved']);
    });

    it('keeps a re-fire that a silence holds from the bot', async () => {
      const client = new AlertmanagerClient(sandbox.alertmanager!.url, logger);
      // As someone would with amtool: this alert's critical ones only.
      const silence = await client.createSilence({
        matchers: { alertname: ALERT, severity: 'critical' },
        durationMs: HOUR,
        createdBy: 'amtool',
        comment: 'payment maintenance',
      });
      const refired = await menu('fire');
      expect(refired).toEqual({
        ok: true,
        channel: incidents,
        delivery: { via: 'silenced', silence: silence.id, until: silence.endsAt },
      });
      // An alert of the same group that the silence does not hold: it goes out in the flush
      // that holds the re-fire back or in a later one, and a group's notifications go out
      // one after the other, so once it is here, anything sent of the re-fire would be too.
      const probe = { ...GROUP, severity: 'info', pod: 'probe' };
      await pushAlerts(sandbox.alertmanager!.url, [
        {
          labels: probe,
          annotations: { summary: 'probe' },
          startsAt: new Date().toISOString(),
          generatorURL: '',
        },
      ]);
      const notifications = await webhook.until(ALERT, 3);
      expect(notifications.map((n) => n.status)).toEqual(['firing', 'resolved', 'firing']);
      expect(notifications[2]!.alerts.map((a) => a.labels)).toEqual([probe]);
      await client.expireSilence(silence.id);
    });
  });
}

/** The button's action_id in a message the bot posted, by its text. */
function buttonId(message: SimulatedMessage, text: string): string {
  for (const block of message.blocks as Array<{ elements?: unknown[] }>) {
    for (const element of (block.elements ?? []) as Array<{
      type?: string;
      action_id?: string;
      text?: { text?: string };
    }>) {
      if (element.type === 'button' && element.text?.text === text && element.action_id)
        return element.action_id;
    }
  }
  throw new Error(`no "${text}" button in ${JSON.stringify(message.blocks)}`);
}

/** The alerts of the page's menu, from the first event of its stream. */
async function pageAlerts(base: string): Promise<AlertState[]> {
  const stop = new AbortController();
  const res = await fetch(`${base}/sandbox/api/events`, { signal: stop.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const snapshot = /event: snapshot\ndata: (.*)\n\n/.exec(text);
      if (snapshot) return (JSON.parse(snapshot[1]!) as Snapshot).alerts;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before its snapshot: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    stop.abort();
  }
}
