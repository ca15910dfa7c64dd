import { actionId } from '../../src/kernel/slack/actions';
import { parseReleases, RELEASES_ANNOTATION } from '../../src/kernel/domain/release';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import {
  finalProgressOf,
  firingNotification,
  postNotification,
  requestIn,
  untilPendingApproval,
  untilSettled,
  resolvedNotification,
  firedAgain,
} from '../kit/flows';
import { APPROVER, ENGINEER, OPS, PROD, STG, WEBHOOK_TOKEN } from '../kit/ids';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

const REPO = 'registry.azora.world/azora/payment';

/**
 * The release flow against the simulated cluster and the real bot: a version to staging,
 * then to production's idle colour through an approval, the switch, the history on the
 * Service, a rollback that knows what was live, and the bake window watching alerts.
 */
describe('releases, end to end', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeEach(async () => {
    cluster = await startTestCluster();
    t = await startTestBot({ cluster, env: { ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN } });
  });
  afterEach(async () => {
    await t?.stop();
    await cluster.sim.stop();
  });

  const slash = async (user: string, text: string) => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text,
      user,
      channel: OPS,
      responseUrl: t.slack.responseUrl(OPS, user),
    });
    expect(res.status).toBe(200);
    return (res.json() as { text: string }).text;
  };
  const approve = async (id: string, ts: string) => {
    await untilPendingApproval(t.bot.deps.requests, id);
    await sendButtonClick(t.url, t.secret, {
      user: APPROVER,
      actionId: actionId('approve', id),
      value: id,
      channel: OPS,
      messageTs: ts,
      responseUrl: t.slack.responseUrl(OPS, APPROVER),
    });
  };
  const ephemeralTo = (user: string, fragment: string) =>
    waitFor(
      () =>
        t.slack.messages.filter((m) => m.visibleTo === user && m.text.includes(fragment)).map((m) => m.text),
      (texts) => texts.length > 0,
      { what: `an answer to ${user} containing ${fragment}` },
    ).then((texts) => texts.at(-1)!);
  const imageOf = (ns: string, deployment: string) =>
    (
      cluster.sim.get('deployments', ns, deployment)!.spec as {
        template: { spec: { containers: Array<{ image: string }> } };
      }
    ).template.spec.containers[0]!.image;
  const selector = (service: string) =>
    (cluster.sim.get('services', PROD, service)!.spec as { selector: Record<string, string> }).selector
      .version;
  const historyOn = (ns: string, kind: 'services' | 'deployments', name: string) =>
    parseReleases(cluster.sim.get(kind, ns, name)!.metadata.annotations?.[RELEASES_ANNOTATION]);

  /** The critical alert the policy switches a baking payment back for. */
  const paymentErrors = () =>
    firingNotification(
      'AzoraHighErrorRate',
      { severity: 'critical', namespace: PROD, service: 'payment' },
      'error rate above 5% on payment',
    );

  const deployToStaging = async (version: string) => {
    await slash(ENGINEER, `deploy staging payment ${version}`);
    const request = await requestIn(t.slack, `deploy staging payment ${version}`);
    return { request, final: await finalProgressOf(t.slack, request.ts, 30_000) };
  };

  /** A version through staging onto production's idle colour, approved and switched to: a release baking. */
  const releaseToProduction = async (version: string) => {
    await deployToStaging(version);
    await slash(ENGINEER, `deploy production payment ${version}`);
    const release = await requestIn(t.slack, `deploy production payment ${version}`);
    await approve(release.id, release.ts);
    expect(await finalProgressOf(t.slack, release.ts, 30_000)).toMatch(/succeeded/);
    return release;
  };

  it('deploys to staging: the new image rolled out, health and smoke checked, recorded on the Deployment', async () => {
    const { final } = await deployToStaging('v1.6.0');
    expect(final).toMatch(/^:large_green_circle: succeeded/);
    expect(final).toMatch(/payment: v1\.5\.0 → \*?v1\.6\.0/);
    expect(final).toMatch(/checks? passed/);
    expect(imageOf(STG, 'azora-payment')).toBe(`${REPO}:v1.6.0`);
    expect(historyOn(STG, 'deployments', 'azora-payment').at(-1)).toMatchObject({
      action: 'deploy',
      version: 'v1.6.0',
      requester: ENGINEER,
      result: 'succeeded',
    });

    await slash(ENGINEER, 'releases staging payment');
    const listing = await ephemeralTo(ENGINEER, 'Releases in staging');
    expect(listing).toContain('payment v1.6.0');
  });

  it('refuses a production deploy of a version never released to staging, and any other repository', async () => {
    await slash(ENGINEER, 'deploy production payment v1.7.0');
    expect(await ephemeralTo(ENGINEER, 'refused')).toContain('v1.7.0 was never released to staging');
    await slash(ENGINEER, 'deploy staging payment evil.example/payment:v1');
    expect(await ephemeralTo(ENGINEER, 'images come from')).toContain(`images come from ${REPO} only`);
    expect(imageOf(PROD, 'azora-payment-green')).not.toContain('v1.7.0');
    expect(imageOf(STG, 'azora-payment')).toBe(`${REPO}:v1.5.0`);
  });

  /** v1.6.0 to staging, rolled back: recorded so, and refused for production. */
  const rolledBackOutOfStaging = async () => {
    expect((await deployToStaging('v1.6.0')).final).toMatch(/succeeded/);
    await slash(ENGINEER, 'rollback staging payment');
    const rollback = await requestIn(t.slack, 'rollback staging payment');
    expect(await finalProgressOf(t.slack, rollback.ts, 30_000)).toMatch(/succeeded/);
    expect(imageOf(STG, 'azora-payment')).toBe(`${REPO}:v1.5.0`);
    expect(historyOn(STG, 'deployments', 'azora-payment').at(-1)).toMatchObject({
      id: rollback.id,
      action: 'rollback',
      version: 'v1.5.0',
      previous: { version: 'v1.6.0' },
      result: 'succeeded',
    });

    await slash(ENGINEER, 'deploy production payment v1.6.0');
    expect(await ephemeralTo(ENGINEER, 'refused')).toContain(
      'v1.6.0 was rolled back in staging after its release there',
    );
    expect(imageOf(PROD, 'azora-payment-green')).not.toContain('v1.6.0');
  };

  it('records a staging rollback, and refuses to promote the version it rolled back until it is deployed again', () =>
    rolledBackOutOfStaging());

  it('refuses a production deploy whose version was rolled back out of staging while it waited for approval', async () => {
    await deployToStaging('v1.6.0');
    await slash(ENGINEER, 'deploy production payment v1.6.0');
    const request = await requestIn(t.slack, 'deploy production payment v1.6.0');
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await slash(ENGINEER, 'rollback staging payment');
    const rollback = await requestIn(t.slack, 'rollback staging payment');
    expect(await finalProgressOf(t.slack, rollback.ts, 30_000)).toMatch(/succeeded/);

    await approve(request.id, request.ts);
    const final = await finalProgressOf(t.slack, request.ts, 30_000);
    expect(final).toMatch(/refused/);
    expect(final).toContain(
      'v1.6.0 was rolled back in staging after its release there since this was planned',
    );
    expect(imageOf(PROD, 'azora-payment-green')).not.toContain('v1.6.0');
    expect(selector('azora-payment')).toBe('blue');
  });

  it('records the release container’s versions in a rollback of a deployment with a sidecar', async () => {
    await cluster.kube.clients('staging').apps.patchNamespacedDeployment({
      name: 'azora-payment',
      namespace: STG,
      body: [
        {
          op: 'add',
          path: '/spec/template/spec/containers/-',
          value: { name: 'envoy', image: 'envoyproxy/envoy:v1.30.0' },
        },
      ],
    });
    await cluster.kube.waitForRollout('staging', STG, 'azora-payment', 10_000);
    await rolledBackOutOfStaging();
    expect(historyOn(STG, 'deployments', 'azora-payment').at(-1)).toMatchObject({
      image: `${REPO}:v1.5.0`,
      previous: { image: `${REPO}:v1.6.0` },
    });
  });

  it('deploys to production onto the idle colour, switches after approval, and a rollback returns to what was live', async () => {
    await deployToStaging('v1.6.0');
    await slash(ENGINEER, 'deploy production payment v1.6.0');
    const request = await requestIn(t.slack, 'deploy production payment v1.6.0');
    // The plan names the live colour and its version, and what the idle one will get.
    const plan = JSON.stringify(request.message.blocks);
    expect(plan).toContain('live *blue* runs `v1.5.0`');
    expect(plan).toContain('gets `v1.6.0`');
    expect(imageOf(PROD, 'azora-payment-green')).not.toBe(`${REPO}:v1.6.0`);

    await approve(request.id, request.ts);
    expect(await finalProgressOf(t.slack, request.ts, 30_000)).toMatch(/^:large_green_circle: succeeded/);
    expect(imageOf(PROD, 'azora-payment-green')).toBe(`${REPO}:v1.6.0`);
    expect(selector('azora-payment')).toBe('green');
    expect(historyOn(PROD, 'services', 'azora-payment').at(-1)).toMatchObject({
      id: request.id,
      action: 'deploy',
      version: 'v1.6.0',
      colour: 'green',
      previous: { colour: 'blue', version: 'v1.5.0' },
      requester: ENGINEER,
      approver: APPROVER,
    });

    // What was live before is known: the rollback plan shows it, and goes there.
    await slash(ENGINEER, 'rollback production payment');
    const rollback = await requestIn(t.slack, 'rollback production payment');
    expect(JSON.stringify(rollback.message.blocks)).toContain('traffic green (`v1.6.0`) → *blue* (`v1.5.0`)');
    await approve(rollback.id, rollback.ts);
    expect(await finalProgressOf(t.slack, rollback.ts, 30_000)).toMatch(/succeeded/);
    expect(selector('azora-payment')).toBe('blue');

    await slash(ENGINEER, 'releases production payment');
    const listing = await ephemeralTo(ENGINEER, 'Releases in production');
    expect(listing).toContain('payment blue v1.5.0');
  });

  it('watches a baking release: an alert lands in its thread and switches it back on its own, once', async () => {
    const release = await releaseToProduction('v1.6.0');
    expect(selector('azora-payment')).toBe('green');

    const alert = paymentErrors();
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    await waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.threadTs === release.ts && m.text.includes('AzoraHighErrorRate* fired'),
        ),
      (m) => m !== undefined,
      { what: 'the alert in the release thread' },
    );
    await waitFor(
      () => selector('azora-payment'),
      (colour) => colour === 'blue',
      { what: 'the automatic switch back', timeoutMs: 30_000 },
    );
    const alertThread = await waitFor(
      () => t.slack.messages.find((m) => m.text.startsWith(':package:') && m.text.includes(release.id)),
      (m) => m !== undefined,
      { what: 'the release named in the alert thread' },
    );
    expect(alertThread!.text).toContain('switches it back to *blue* on its own');
    const audit = await t.bot.deps.audit.recent(50, 'production');
    expect(audit.filter((e) => e.type === 'auto-switch-back')).toHaveLength(1);
    expect(historyOn(PROD, 'services', 'azora-payment').at(-1)).toMatchObject({
      action: 'auto-switch-back',
      colour: 'blue',
      version: 'v1.5.0',
    });

    // The same alert again (Alertmanager repeats) switches nothing more.
    expect(await postNotification(t.url, WEBHOOK_TOKEN, resolvedNotification(alert))).toBe(202);
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    await untilSettled(t.bot);
    const succeeded = (await t.bot.deps.audit.recent(50, 'production')).filter((e) => e.type === 'succeeded');
    expect(succeeded).toHaveLength(2); // the deploy and the one switch back
    const jobs = await t.bot.queues.get('ops').getJobs(['completed', 'active', 'waiting', 'delayed'], 0, 200);
    expect(
      jobs.filter((j) => j.name === 'plan-request' && j.data.source === 'auto-switch-back'),
    ).toHaveLength(1);
    // Once its job is done: no offer to switch back onto the release it just left.
    const back = (await t.bot.deps.requests.recent('production')).find(
      (r) => r.source === 'auto-switch-back',
    )!;
    await waitFor(
      async () => (await t.bot.queues.get('ops').getJob(`execute-${back.id}`))?.isCompleted(),
      Boolean,
      { what: 'the switch back’s job done' },
    );
    expect(t.slack.messages.filter((m) => m.text.includes('Switch back to green'))).toHaveLength(0);
    expect((await t.bot.queues.get('ops').getJobs(['delayed'])).map((j) => j.id)).not.toContain(
      `end-bake-${back.id}`,
    );
  });
  it('takes a typed switch back to the colour a baking release left as its switch back: no alert flips it again', async () => {
    await releaseToProduction('v1.6.0');
    expect(selector('azora-payment')).toBe('green');
    // The guide's rollback step, typed: back to blue, approved.
    await slash(ENGINEER, 'switch production blue payment');
    const back = await requestIn(t.slack, 'switch production blue payment');
    await approve(back.id, back.ts);
    expect(await finalProgressOf(t.slack, back.ts, 30_000)).toMatch(/succeeded/);
    expect(selector('azora-payment')).toBe('blue');
    expect(await t.bot.deps.releases.baking('production', 'payment')).toBeUndefined();

    // The alert the policy switches a baking release back for: nothing is baking now.
    expect(await postNotification(t.url, WEBHOOK_TOKEN, paymentErrors())).toBe(202);
    await waitFor(
      () => t.slack.messages.find((m) => m.text.includes('AzoraHighErrorRate') && !m.threadTs),
      (m) => m !== undefined,
      { what: 'the alert thread' },
    );
    await untilSettled(t.bot);
    expect(selector('azora-payment')).toBe('blue');
    const jobs = await t.bot.queues.get('ops').getJobs(['completed', 'active', 'waiting', 'delayed'], 0, 200);
    expect(
      jobs.filter((j) => j.name === 'plan-request' && j.data.source === 'auto-switch-back'),
    ).toHaveLength(0);
  });

  it('asks again on the next alert when an automatic switch back was refused for a locked service', async () => {
    const release = await releaseToProduction('v1.6.0');
    // Someone's change holds payment when the alert fires: the switch back is refused.
    await t.bot.deps.locks.acquire('production', 'payment', 'r0locked0', 600_000);
    const alert = paymentErrors();
    expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
    await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === release.ts && m.text.includes('refused')),
      (m) => m !== undefined,
      { what: 'the switch back refused in the release thread' },
    );
    expect(selector('azora-payment')).toBe('green');

    // The change ends; the alert resolves and fires again inside the bake window.
    await t.bot.deps.locks.release('production', 'payment', 'r0locked0');
    expect(await postNotification(t.url, WEBHOOK_TOKEN, resolvedNotification(alert))).toBe(202);
    await untilSettled(t.bot);
    expect(await postNotification(t.url, WEBHOOK_TOKEN, firedAgain(alert))).toBe(202);
    await waitFor(
      () => selector('azora-payment'),
      (colour) => colour === 'blue',
      { what: 'the automatic switch back on the second alert', timeoutMs: 30_000 },
    );
  });

  it('tells the release thread of an alert once, even when its notification is handled twice', async () => {
    const release = await releaseToProduction('v1.6.0');

    // Redis goes away for a moment after the notification was fully handled: its ack
    // fails, and the worker takes it again, as it would after any failed attempt.
    const inbox = t.bot.deps.alertInbox;
    const done = inbox.done.bind(inbox);
    let acks = 0;
    inbox.done = async (ids) => {
      if (ids.length > 0 && ++acks === 1) throw new Error('Connection is closed.');
      return done(ids);
    };
    try {
      const alert = firingNotification(
        'AzoraHighLatency',
        { severity: 'warning', namespace: PROD, service: 'payment' },
        'p99 latency above 1s on payment',
      );
      expect(await postNotification(t.url, WEBHOOK_TOKEN, alert)).toBe(202);
      await waitFor(
        () => acks,
        (n) => n >= 2,
        { what: 'the notification handled again and acknowledged', timeoutMs: 20_000 },
      );
      await untilSettled(t.bot);
    } finally {
      inbox.done = done;
    }
    const notes = t.slack.messages.filter(
      (m) => m.threadTs === release.ts && m.text.includes('AzoraHighLatency* fired'),
    );
    expect(notes).toHaveLength(1);
    // Not switched back: only the policy's autoSwitchBack alerts do that.
    expect(selector('azora-payment')).toBe('green');
  });
});
