import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { runBot } from '../kit/process';
import { parseReleases, RELEASES_ANNOTATION } from '../../src/kernel/domain/release';
import { sendSlashCommand } from '../kit/slack-requests';
import { firingNotification, pressApprove, requestIn } from '../kit/flows';
import { notificationSchema } from '../../src/alerts/domain/payload';
import { deliveryDigest, groupIdOf } from '../../src/alerts/domain/group';
import { TEST_REDIS_URL } from '../kit/redis';
import { Redis } from 'ioredis';
import { waitFor } from '../kit/wait';
import { APPROVER, OPS, PROD, SECOND_APPROVER, STG } from '../kit/ids';

describe('a worker killed in the middle of a rollback', () => {
  let cluster: TestCluster;
  let web: TestBot;
  const workers: ReturnType<typeof runBot>[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    // Slow pods hold the job in its rollout wait, after the patch and before success.
    cluster = await startTestCluster({ readyDelayMs: 2_500 });
    web = await startTestBot({ role: 'web', cluster });
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    // Dead before the prefix goes, so no killed worker writes into it afterwards.
    await Promise.all(workers.map((w) => w.exited));
    await web.stop();
    await cluster.sim.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const startWorker = async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azora-kube-'));
    dirs.push(dir);
    const kubeconfig = path.join(dir, 'config');
    await cluster.sim.writeKubeconfig(kubeconfig);
    const worker = runBot(
      {
        KUBECONFIG: kubeconfig,
        REDIS_PREFIX: web.prefix,
        SLACK_BOT_TOKEN: web.slack.botToken,
        SLACK_SIGNING_SECRET: web.secret,
        SLACK_API_URL: web.slack.apiUrl,
        JOB_STALL_SECONDS: '1',
      },
      ['worker'],
    );
    workers.push(worker);
    return worker;
  };

  const deployment = () =>
    cluster.sim.get('deployments', STG, 'azora-payment') as {
      metadata: { annotations: Record<string, string> };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };

  it('takes over an alert notification a dead worker held, and posts its thread once', async () => {
    const notification = notificationSchema.parse(
      firingNotification(
        'AzoraHighCPU',
        { severity: 'warning', namespace: STG, service: 'auth' },
        'CPU high',
      ),
    );
    const { alertInbox } = web.bot.deps;
    await alertInbox.ensureGroup();
    expect(
      await alertInbox.put(notification, {
        group: groupIdOf(notification.groupKey),
        digest: deliveryDigest(notification),
        sender: 'crash',
      }),
    ).toBe('stored');
    // A worker that read it and died before it was done: the entry is pending in its name.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await alertInbox.read(redis, 'killed-worker', 1, 0)).toHaveLength(1);
    } finally {
      await redis.quit();
    }
    await startWorker();
    await waitFor(
      () => web.slack.messages.filter((m) => !m.threadTs && m.text.includes('*AzoraHighCPU* — auth')),
      (parents) => parents.length === 1,
      { what: 'the alert thread, posted by the next worker after the stall time', timeoutMs: 20_000 },
    );
    await waitFor(
      () => alertInbox.size(),
      (n) => n === 0,
      { what: 'the inbox to be empty' },
    );
    expect(
      web.slack.messages.filter((m) => !m.threadTs && m.text.includes('*AzoraHighCPU* — auth')),
    ).toHaveLength(1);
  });

  it('is taken over by another worker, and the deployment is rolled back once', async () => {
    const first = await startWorker();
    const before = deployment().spec.template.spec.containers[0]!.image;
    expect(before).toMatch(/payment:v1\.5\.0$/);

    await sendSlashCommand(web.url, web.secret, { text: 'rollback staging payment', user: 'U0ENGINEER' });
    await waitFor(
      () => deployment().spec.template.spec.containers[0]!.image,
      (image) => image.endsWith('payment:v1.4.1'),
      { what: 'the rollback patch to reach the cluster' },
    );
    first.child.kill('SIGKILL');
    await first.exited;

    await startWorker();
    const parent = web.slack.messages.find(
      (m) => !m.threadTs && m.text.includes('rollback staging payment'),
    )!;
    const progress = await waitFor(
      () => web.slack.messages.find((m) => m.threadTs === parent.ts)?.text ?? '',
      (text) => /^:(large_green_circle|red_circle)/.test(text),
      { what: 'the progress message to finish', timeoutMs: 20_000 },
    );
    expect(progress).toMatch(/^:large_green_circle: succeeded/);
    expect(progress).toContain('payment: azora-payment rolled back to revision 2');

    const after = deployment();
    expect(after.spec.template.spec.containers[0]!.image).toMatch(/payment:v1\.4\.1$/);
    // Once: revision 4. A second undo would have gone back to v1.5.0 as revision 5.
    expect(after.metadata.annotations['deployment.kubernetes.io/revision']).toBe('4');
  });

  it('in a production deploy, between setting the idle colour and the switch: the next worker finishes it once', async () => {
    const first = await startWorker();
    const green = () =>
      cluster.sim.get('deployments', PROD, 'azora-payment-green') as {
        metadata: { annotations: Record<string, string> };
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
    const revisionBefore = Number(green().metadata.annotations['deployment.kubernetes.io/revision']);

    // An approver forces a version staging never had; another approver approves.
    await sendSlashCommand(web.url, web.secret, {
      text: 'deploy production payment v1.6.0 force',
      user: APPROVER,
      channel: OPS,
    });
    const request = await requestIn(web.slack, 'deploy production payment v1.6.0 force', 20_000);
    await pressApprove(web, request, SECOND_APPROVER);
    // Slow pods hold the job in its rollout wait: the idle colour has the image, no traffic yet.
    await waitFor(
      () => green().spec.template.spec.containers[0]!.image,
      (image) => image.endsWith('payment:v1.6.0'),
      { what: 'the new version on the idle colour', timeoutMs: 20_000 },
    );
    const selector = () =>
      (cluster.sim.get('services', PROD, 'azora-payment')!.spec as { selector: { version: string } }).selector
        .version;
    expect(selector()).toBe('blue');
    first.child.kill('SIGKILL');
    await first.exited;

    await startWorker();
    const progress = await waitFor(
      () => web.slack.messages.find((m) => m.threadTs === request.ts && m.text.startsWith(':'))?.text ?? '',
      (text) => /^:(large_green_circle|red_circle|warning|no_entry_sign)/.test(text),
      { what: 'the deploy to finish', timeoutMs: 30_000 },
    );
    expect(progress).toMatch(/^:large_green_circle: succeeded/);
    expect(selector()).toBe('green');
    // The image went on once: one new revision, not two.
    expect(Number(green().metadata.annotations['deployment.kubernetes.io/revision'])).toBe(
      revisionBefore + 1,
    );
    const records = parseReleases(
      cluster.sim.get('services', PROD, 'azora-payment')!.metadata.annotations?.[RELEASES_ANNOTATION],
    ).filter((r) => r.id === request.id);
    expect(records).toEqual([
      expect.objectContaining({ action: 'deploy', version: 'v1.6.0', colour: 'green', result: 'succeeded' }),
    ]);
  });
});
