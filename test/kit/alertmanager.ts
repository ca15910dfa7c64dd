import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startDaemon } from './daemon';
import { freePort } from './redis-server';

const INSTALL_HINT = "install Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager)";

export interface AlertmanagerOptions {
  /** Where the single webhook receiver delivers: the bot's webhook, or the test's stand-in. */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer …` with every notification; none when absent. */
  webhookToken?: string;
  groupBy?: string[];
  /**
   * Prometheus durations. The defaults are about the shortest that work: Alertmanager
   * accepts group_wait 0s, but group_interval and repeat_interval must be above zero.
   * group_interval is how soon a resolve or a new alert in an open group goes out.
   */
  groupWait?: string;
  groupInterval?: string;
  /** Long by default, so that repeats of a firing group never show up unasked. */
  repeatInterval?: string;
  /**
   * HA mode: this peer's gossip port and its peers' (see startAlertmanagerPair). Unset,
   * the instance runs alone: no gossip, and no peer wait before each notification.
   */
  cluster?: { listenPort: number; peerPorts: number[]; peerTimeout: string };
}

export interface TestAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

export interface TestAlertmanager {
  url: string;
  port: number;
  /** POST /api/v2/alerts, the way Prometheus pushes them. */
  fire(alerts: TestAlert[]): Promise<void>;
  /** Pushes the alerts again with endsAt just past (or `endsAt`), keeping the annotations they fired with. */
  resolve(labels: Record<string, string>[], endsAt?: string): Promise<void>;
  /** Runs Debian's amtool against this Alertmanager; resolves to its stdout. */
  amtool(args: string[]): Promise<string>;
  /** What Alertmanager logged (warnings and errors), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Alertmanager's identity of an alert is its label set, whatever the order of keys. */
const labelKey = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function configFor(options: AlertmanagerOptions): string {
  return stringify({
    route: {
      receiver: 'webhook',
      group_by: options.groupBy ?? ['alertname', 'namespace', 'service'],
      group_wait: options.groupWait ?? '0s',
      group_interval: options.groupInterval ?? '100ms',
      repeat_interval: options.repeatInterval ?? '24h',
    },
    receivers: [
      {
        name: 'webhook',
        webhook_configs: [
          {
            url: options.webhookUrl,
            send_resolved: true,
            max_alerts: 0,
            ...(options.webhookToken
              ? { http_config: { authorization: { type: 'Bearer', credentials: options.webhookToken } } }
              : {}),
          },
        ],
      },
    ],
  });
}

/** Debian's real prometheus-alertmanager on 127.0.0.1, single instance, in a temp dir of its own. */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<TestAlertmanager> {
  const dir = await mkdtemp(path.join(tmpdir(), 'azora-alertmanager-'));
  const configFile = path.join(dir, 'alertmanager.yml');
  await writeFile(configFile, configFor(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const { stop, logs } = await startDaemon({
    command: 'prometheus-alertmanager',
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...clusterArgs(options.cluster),
      '--log.level=warn',
    ],
    dir,
    readyUrl: `${url}/-/ready`,
    readyWithinMs: 10_000,
    installHint: INSTALL_HINT,
  });

  const fired = new Map<string, TestAlert>();
  const post = async (alerts: TestAlert[]) => {
    const res = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`Alertmanager refused the alerts: ${res.status} ${await res.text()}`);
  };

  return {
    url,
    port,
    stop,
    logs,
    async fire(alerts) {
      await post(alerts);
      for (const alert of alerts) fired.set(labelKey(alert.labels), alert);
    },
    async resolve(labels, endsAt = new Date(Date.now() - 1).toISOString()) {
      // No startsAt: Alertmanager then takes endsAt for it and keeps the original start
      // when it merges the two, where a copied startsAt could land after endsAt.
      await post(
        labels.map((l) => {
          const annotations = fired.get(labelKey(l))?.annotations;
          return { labels: l, ...(annotations ? { annotations } : {}), endsAt };
        }),
      );
    },
    amtool: (args) => runAmtool(url, dir, args),
  };
}

function clusterArgs(cluster: AlertmanagerOptions['cluster']): string[] {
  // Empty disables HA mode: no gossip port, and no peer wait before each notification.
  if (!cluster) return ['--cluster.listen-address='];
  const self = `127.0.0.1:${cluster.listenPort}`;
  return [
    `--cluster.listen-address=${self}`,
    `--cluster.advertise-address=${self}`,
    ...cluster.peerPorts.map((peer) => `--cluster.peer=127.0.0.1:${peer}`),
    `--cluster.peer-timeout=${cluster.peerTimeout}`,
  ];
}

/**
 * Two Alertmanagers gossiping as an HA pair, each delivering to the same webhook, as in
 * production: the peer second in line waits `peerTimeout` and sends only what the first
 * has not (its notification log comes over the gossip). Prometheus pushes every alert to
 * both, and so does the pair's `fire`/`resolve`.
 */
export async function startAlertmanagerPair(
  options: AlertmanagerOptions & { peerTimeout: string },
): Promise<TestAlertmanager & { peers: [TestAlertmanager, TestAlertmanager] }> {
  const gossip = [await freePort(), await freePort()] as const;
  const peers = (await Promise.all(
    gossip.map((listenPort, i) =>
      startAlertmanager({
        ...options,
        cluster: { listenPort, peerPorts: [gossip[1 - i]!], peerTimeout: options.peerTimeout },
      }),
    ),
  )) as [TestAlertmanager, TestAlertmanager];
  const [first] = peers;
  return {
    peers,
    url: first.url,
    port: first.port,
    // As Prometheus does: the same start and end times to both peers.
    fire: async (alerts) => {
      const startsAt = new Date().toISOString();
      const timed = alerts.map((a) => ({ startsAt, ...a }));
      await Promise.all(peers.map((am) => am.fire(timed)));
    },
    resolve: async (labels) => {
      const endsAt = new Date(Date.now() - 1).toISOString();
      await Promise.all(peers.map((am) => am.resolve(labels, endsAt)));
    },
    amtool: (args) => first.amtool(args),
    logs: () => peers.map((am) => am.logs()).join('\n'),
    stop: async () => void (await Promise.all(peers.map((am) => am.stop()))),
  };
}

function runAmtool(url: string, home: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'amtool',
      [`--alertmanager.url=${url}`, ...args],
      // amtool also reads ~/.config/amtool/config.yml; a HOME of its own keeps the
      // developer's defaults (another URL, an output format) out of the tests.
      { env: { PATH: process.env.PATH, HOME: home }, timeout: 10_000 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(new Error(`amtool is not on PATH; ${INSTALL_HINT}`));
        } else if (err) {
          reject(new Error(`amtool ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}
