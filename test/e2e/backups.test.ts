import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimulatedPagerDuty } from '../../sandbox/pagerduty';
import { backupJob, scheduledBackupJob } from '../../src/backups/contracts';
import { executeRequestJob } from '../../src/requests/contracts';
import { DATABASE_LOCK } from '../../src/backups/run';
import { actionId } from '../../src/kernel/slack/actions';
import { startAlertmanager, type TestAlertmanager } from '../kit/alertmanager';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { finalProgressOf, pressApprove, requestIn, untilPendingApproval } from '../kit/flows';
import { APPROVER, ENGINEER, OPS, PROD, STG } from '../kit/ids';
import { sendButtonClick, sendSlashCommand, sendViewSubmission } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/** An approver approves a restore request and types its environment in the modal, as a restore needs anywhere. */
async function approveRestore(t: TestBot, request: { id: string; ts: string }, env: string): Promise<void> {
  await pressApprove(t, request);
  const view = await t.slack.waitForView(
    (v) =>
      v.user === APPROVER &&
      v.state === 'open' &&
      JSON.stringify(v.view.private_metadata) === JSON.stringify(request.id),
  );
  const done = await sendViewSubmission(t.url, t.secret, {
    view,
    values: { confirm: { typed: env } },
    slack: t.slack,
  });
  expect(done.body).toBeUndefined();
}

/**
 * Backups and restores against the simulated cluster (its Jobs run a simulated PostgreSQL
 * the way the shipped scripts run the real one) and the real bot: a backup in a thread,
 * the listing, a restore confirmed in a modal, the refusals, and a failed restore.
 */
describe('database backups and restores, end to end', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeEach(async () => {
    cluster = await startTestCluster({ jobRunMs: 0 });
    t = await startTestBot({ cluster });
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
  const answerTo = (user: string, fragment: string) =>
    waitFor(
      () =>
        t.slack.messages.filter((m) => m.visibleTo === user && m.text.includes(fragment)).map((m) => m.text),
      (texts) => texts.length > 0,
      { what: `an answer to ${user} containing ${fragment}` },
    ).then((texts) => texts.at(-1)!);
  const backup = async (env: 'staging' | 'production') => {
    await slash(ENGINEER, `backup ${env}`);
    const done = await waitFor(
      () =>
        t.slack.messages.find((m) => !m.visibleTo && /^:(white_check_mark|x): Backup of the /.test(m.text)),
      (m) => m !== undefined,
      { what: `the ${env} backup's result`, timeoutMs: 20_000 },
    );
    const id = /Job `(azora-backup-[a-z]+-\d{8}-\d{4}-[0-9a-f]{4})`/.exec(done!.text)?.[1];
    return { text: done!.text, id: id! };
  };
  const click = (user: string, kind: 'approve' | 'close-window', subject: string, ts: string) =>
    sendButtonClick(t.url, t.secret, {
      user,
      actionId: actionId(kind, subject),
      value: subject,
      channel: OPS,
      messageTs: ts,
      responseUrl: t.slack.responseUrl(OPS, user),
    });

  it('backs up in a thread (Job, duration, size) and lists what is kept', async () => {
    const done = await backup('staging');
    expect(done.text).toMatch(
      /^:white_check_mark: Backup of the staging database by <@U0ENGINEER> done in \S+: [\d.]+ (B|KiB|MiB)/,
    );
    expect(cluster.sim.database.dumps(STG, 'azora-backups').map((d) => d.name)).toContain(`${done.id}.sql`);
    // The result is also a reply in the backup's thread, so whoever follows it is told.
    const parent = t.slack.messages.find((m) => !m.threadTs && m.text.includes(done.id))!;
    await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === parent.ts && m.text.includes('done in')),
      (m) => m !== undefined,
      { what: 'the result in the thread' },
    );

    await slash(ENGINEER, 'backups staging');
    await answerTo(ENGINEER, '1 backup of the staging database');
    const listing = JSON.stringify(
      t.slack.messages.find((m) => m.visibleTo === ENGINEER && m.text.includes('backup of the staging'))!
        .blocks,
    );
    expect(listing).toContain(done.id);
    expect(listing).toMatch(/\d (B|KiB|MiB) · by <@U0ENGINEER>/);
  });

  it('tells one thread per backup when a second worker takes the job over', async () => {
    // The same backup job twice, as when a worker dies mid-backup and another takes its job.
    const payload = {
      environment: 'staging' as const,
      requester: ENGINEER,
      channel: OPS,
      at: Date.now(),
      seed: 'takeover',
    };
    await t.bot.queues.enqueue(backupJob, payload, { jobId: 'backup-takeover-1' });
    await t.bot.queues.enqueue(backupJob, payload, { jobId: 'backup-takeover-2' });
    await waitFor(
      () =>
        t.slack.messages.filter(
          (m) => !m.visibleTo && m.text.includes(':white_check_mark: Backup of the staging'),
        ),
      (found) => found.length >= 2,
      { what: 'the result in the parent and in its thread', timeoutMs: 20_000 },
    );
    for (const id of ['backup-takeover-1', 'backup-takeover-2'])
      await waitFor(
        async () => (await t.bot.queues.get('ops').getJob(id))?.getState(),
        (state) => state === 'completed',
        { what: `${id} done` },
      );
    await waitFor(
      () => t.bot.deps.outbox.pending(),
      (n) => n === 0,
      { what: 'every Slack write made' },
    );
    const parents = t.slack.messages.filter(
      (m) => !m.threadTs && !m.visibleTo && m.text.includes('Backup of the staging'),
    );
    expect(parents).toHaveLength(1);
    expect(t.slack.messages.filter((m) => m.threadTs === parents[0]!.ts)).toHaveLength(1);
  });

  it('restores production from a backup after an approver types production in the modal', async () => {
    cluster.sim.database.setUsers(PROD, 1042);
    const { id } = await backup('production');
    cluster.sim.database.setUsers(PROD, 7); // the damage a restore is for

    await slash(ENGINEER, `restore production ${id}`);
    const request = await requestIn(t.slack, `restore production ${id}`);
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await click(APPROVER, 'approve', request.id, request.ts);
    const view = await t.slack.waitForView((v) => v.user === APPROVER && v.state === 'open');
    expect(JSON.stringify(view.view.blocks)).toContain(id);

    // Anything but the environment's name keeps the modal open and approves nothing.
    const wrong = await sendViewSubmission(t.url, t.secret, {
      view,
      values: { confirm: { typed: 'prod' } },
      slack: t.slack,
    });
    expect(wrong.body).toEqual({
      response_action: 'errors',
      errors: { confirm: 'type production to approve' },
    });
    expect((await t.bot.deps.requests.get(request.id))!.status).toBe('pending-approval');

    const right = await sendViewSubmission(t.url, t.secret, {
      view,
      values: { confirm: { typed: 'production' } },
      slack: t.slack,
    });
    expect(right.body).toBeUndefined();
    const final = await finalProgressOf(t.slack, request.ts, 30_000);
    expect(final).toMatch(/^:large_green_circle: succeeded/);
    expect(final).toContain('SELECT COUNT(*) FROM users; → 1042');
    expect(cluster.sim.database.users(PROD)).toBe(1042);
    // The window it opened was announced and closed again.
    const windowId = `m${request.id.slice(1)}`;
    expect(final).toContain(`maintenance ${windowId} closed`);
    const window = await t.bot.deps.maintenanceWindows.get(windowId);
    expect(window?.status).toBe('done');
    await waitFor(
      () =>
        t.slack.messages.filter((m) => m.text.includes('Maintenance over') && m.text.includes(request.id)),
      (over) => over.length === 1,
      { what: 'the window announced as over' },
    );

    // Its worker died after closing the window and before recording the step: the job's
    // retry finds the restore done, and reports it so, restoring nothing again.
    const jobsBefore = cluster.sim.list('jobs', PROD).length;
    await t.bot.deps.requests.update(request.id, (current) => ({
      next: { ...current, status: 'running', outcome: [] },
      value: null,
    }));
    await t.bot.queues.enqueue(
      executeRequestJob,
      { requestId: request.id },
      { jobId: `retry-${request.id}` },
    );
    const again = await waitFor(
      () => t.bot.deps.requests.get(request.id),
      (r) => r?.status !== 'running',
      { what: 'the retry to end', timeoutMs: 20_000 },
    );
    expect(again!.status).toBe('succeeded');
    expect(again!.outcome?.join('\n')).toContain('SELECT COUNT(*) FROM users; → 1042');
    expect(cluster.sim.list('jobs', PROD)).toHaveLength(jobsBefore);
  });

  it('holds a staging restore for an approver and the typed name too: the requester cannot approve it', async () => {
    cluster.sim.database.setUsers(STG, 1042);
    const { id } = await backup('staging');
    cluster.sim.database.setUsers(STG, 7);
    await slash(ENGINEER, `restore staging ${id}`);
    const request = await requestIn(t.slack, `restore staging ${id}`);
    await untilPendingApproval(t.bot.deps.requests, request.id);
    await click(ENGINEER, 'approve', request.id, request.ts);
    expect(await answerTo(ENGINEER, 'someone else must approve it')).toContain(`<@${APPROVER}>`);
    expect((await t.bot.deps.requests.get(request.id))!.status).toBe('pending-approval');
    expect(cluster.sim.database.users(STG)).toBe(7);
    // The approver's modal submitted in the requester's name (a forged submission) is refused too.
    await pressApprove(t, request);
    const view = await t.slack.waitForView((v) => v.user === APPROVER && v.state === 'open');
    const forged = await sendViewSubmission(t.url, t.secret, {
      view,
      user: ENGINEER,
      values: { confirm: { typed: 'staging' } },
    });
    expect(forged.body).toMatchObject({ response_action: 'errors' });
    // Each refusal is audited, as every refusal is.
    const refusals = (await t.bot.deps.audit.recent(50)).filter(
      (e) => e.type === 'approve-refused' && e.request === request.id,
    );
    expect(refusals.map((e) => e.actor)).toEqual([ENGINEER, ENGINEER]);

    await approveRestore(t, request, 'staging');
    expect(await finalProgressOf(t.slack, request.ts, 30_000)).toMatch(/^:large_green_circle: succeeded/);
    expect(cluster.sim.database.users(STG)).toBe(1042);
  });

  it('refuses what cannot be restored before anyone is asked, and changes nothing', async () => {
    const { id } = await backup('staging');
    await slash(ENGINEER, `restore production ${id}`);
    expect(await answerTo(ENGINEER, 'refused')).toContain('is a staging backup');
    await slash(ENGINEER, 'restore production azora-backup-production-20200101-0000-abcd');
    expect(await answerTo(ENGINEER, 'there is no backup')).toContain(
      'azora-backup-production-20200101-0000-abcd',
    );
    expect(await slash(ENGINEER, 'restore production ../../etc/passwd')).toContain('is not a backup id');
    expect(t.slack.messages.filter((m) => m.text.includes('asked to `restore'))).toEqual([]);
  });

  it('restores nothing, and opens no window, when its backup was pruned while it waited for approval', async () => {
    const { id } = await backup('staging');
    cluster.sim.database.setUsers(STG, 7);
    await slash(ENGINEER, `restore staging ${id}`);
    const request = await requestIn(t.slack, `restore staging ${id}`);
    await untilPendingApproval(t.bot.deps.requests, request.id);
    // The daily backup's pruning took it meanwhile (older than `keep` days, not among the newest).
    await cluster.kube.deleteJob('staging', id);

    await approveRestore(t, request, 'staging');
    const final = await finalProgressOf(t.slack, request.ts, 30_000);
    expect(final).toMatch(/^:warning: the cluster changed since the plan; not run/);
    expect(final).toContain(`backup ${id} is gone (pruned since it was planned); nothing was changed`);
    expect(await t.bot.deps.maintenanceWindows.get(`m${request.id.slice(1)}`)).toBeUndefined();
    expect(t.slack.messages.filter((m) => m.text.includes('Maintenance'))).toEqual([]);
    expect(cluster.sim.database.users(STG)).toBe(7);
  });

  it('says what failed when a restore fails, and leaves the window open with a button to close it', async () => {
    const { id } = await backup('staging');
    cluster.sim.database.failNext('restore', 'psql: error: connection refused');
    await slash(ENGINEER, `restore staging ${id}`);
    const request = await requestIn(t.slack, `restore staging ${id}`);
    await approveRestore(t, request, 'staging');
    const final = await finalProgressOf(t.slack, request.ts, 30_000);
    expect(final).toMatch(/^:red_circle: failed/);
    expect(final).toContain('connection refused');
    const windowId = `m${request.id.slice(1)}`;
    const offer = await waitFor(
      () =>
        t.slack.messages.find((m) =>
          JSON.stringify(m.blocks ?? []).includes(actionId('close-window', windowId)),
        ),
      (m) => m !== undefined,
      { what: 'the close-window button' },
    );
    expect((await t.bot.deps.maintenanceWindows.get(windowId))?.status).not.toBe('cancelled');

    await click(ENGINEER, 'close-window', windowId, offer!.ts);
    await waitFor(
      async () => (await t.bot.deps.maintenanceWindows.get(windowId))?.status,
      (status) => status === 'cancelled',
      { what: 'the window closed by the button' },
    );
  });
});

describe('a backup while it runs', () => {
  let cluster: TestCluster;
  let t: TestBot;
  beforeAll(async () => {
    // Its Job runs for a while: long enough to ask for the status meanwhile.
    cluster = await startTestCluster({ jobRunMs: 4_000 });
    t = await startTestBot({ cluster });
  });
  afterAll(async () => {
    await t?.stop();
    await cluster?.sim.stop();
  });

  it('is among what /azora status says runs, as its Job', async () => {
    const ask = (text: string) =>
      sendSlashCommand(t.url, t.secret, {
        text,
        user: APPROVER,
        channel: OPS,
        responseUrl: t.slack.responseUrl(OPS, APPROVER),
      });
    await ask('backup production');
    const job = await waitFor(
      async () => (await cluster.kube.listJobs('production', 'backup')).find((j) => j.status === 'running'),
      (found) => found !== undefined,
      { what: 'the backup Job running' },
    );
    await ask('status production');
    const status = await waitFor(
      () => t.slack.messages.find((m) => m.visibleTo === APPROVER && m.text.startsWith('production status')),
      (m) => m !== undefined,
      { what: 'the status answer' },
    );
    expect(JSON.stringify(status!.blocks)).toContain(`*Running:* backup Job \`${job!.name}\``);
  });
});

describe('daily backups', () => {
  let cluster: TestCluster;
  let pagerduty: SimulatedPagerDuty;
  const bots: TestBot[] = [];
  const caDir = mkdtempSync(path.join(tmpdir(), 'azora-pd-'));
  let startedAt = 0;

  beforeAll(async () => {
    startedAt = Date.now();
    cluster = await startTestCluster({ jobRunMs: 0 });
    pagerduty = await new SimulatedPagerDuty().start();
    const caFile = await pagerduty.writeCa(path.join(caDir, 'ca.pem'));
    // Two workers on one Redis prefix: the schedule must still run once.
    const first = await startTestBot({ cluster, env: pagerduty.env(caFile) });
    bots.push(first, await startTestBot({ cluster, prefix: first.prefix, env: pagerduty.env(caFile) }));
  });
  afterAll(async () => {
    for (const bot of bots.reverse()) await bot.stop({ keepData: bot !== bots.at(-1) });
    await pagerduty.stop();
    await cluster.sim.stop();
    rmSync(caDir, { recursive: true, force: true });
  });

  it('are one job scheduler per environment with a schedule, however many workers upsert it', async () => {
    const schedulers = await bots[0]!.bot.queues.get('ops').getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).toEqual([
      ['scheduled-backup-production', '0 0 2 * * *', 'UTC'],
    ]);
    // The next run is the first 02:00 UTC after the workers upserted it, some time between
    // the start and now (the bot reckons daily schedules itself: src/kernel/queue/repeat.ts).
    const nextTwoAfter = (at: number) => {
      const day = new Date(at);
      const two = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 2);
      return two > at ? two : two + 86_400_000;
    };
    expect([nextTwoAfter(startedAt), nextTwoAfter(Date.now())]).toContain(schedulers[0]!.next);
  });

  it('wait for a database busy with another change, say so once, and run once it is free, paging nobody', async () => {
    const t = bots[0]!;
    const opsSays = (fragment: string) =>
      bots.flatMap((b) => b.slack.messages).filter((m) => m.channel === OPS && m.text.includes(fragment));
    await t.bot.deps.locks.acquire('production', DATABASE_LOCK, 'r0dea110c', 600_000);
    const pagesBefore = pagerduty.events.length;
    await t.bot.queues.enqueue(scheduledBackupJob, { environment: 'production' });
    const waiting = await waitFor(
      () => opsSays('The daily backup of production waits'),
      (found) => found.length > 0,
      { what: 'the postponed backup told', timeoutMs: 20_000 },
    );
    expect(waiting[0]!.text).toContain('busy with `r0dea110c`');
    const retry = await waitFor(
      // The scheduler's own next 02:00 run waits there too, under a `repeat:` id.
      async () => (await t.bot.queues.get('ops').getDelayed()).find((j) => j.id?.endsWith('-try-2') ?? false),
      (job) => job !== undefined,
      { what: 'the next try queued' },
    );
    expect(retry!.id).toMatch(/^scheduled-backup-production-\d{4}-\d{2}-\d{2}-try-2$/);

    // The change ends; the next try (brought forward rather than waited for) takes the backup.
    await t.bot.deps.locks.release('production', DATABASE_LOCK, 'r0dea110c');
    await retry!.promote();
    const done = await waitFor(
      () => opsSays('by the daily schedule'),
      (found) => found.length > 0,
      { what: 'the backup taken on the next try', timeoutMs: 20_000 },
    );
    expect(done[0]!.text).not.toContain('failed');
    expect(opsSays('The daily backup of production waits')).toHaveLength(1);
    expect(pagerduty.events.slice(pagesBefore)).toEqual([]);
  });

  it('post a failure to the ops channel and page like a critical alert', async () => {
    const t = bots[0]!;
    cluster.sim.database.failNext('backup', 'pg_dump: error: connection to server failed');
    await t.bot.queues.enqueue(scheduledBackupJob, { environment: 'production' });
    const posted = await waitFor(
      // Either worker may take it; each has a Slack of its own here.
      () =>
        bots
          .flatMap((b) => b.slack.messages)
          .find((m) => m.channel === OPS && m.text.includes('by the daily schedule failed')),
      (m) => m !== undefined,
      { what: 'the failed scheduled backup in the ops channel', timeoutMs: 20_000 },
    );
    expect(posted!.text).toContain('connection to server failed');
    const page = await waitFor(
      () => pagerduty.events.filter((e) => e.dedupKey?.startsWith('azora-backup-failed-production-')),
      (events) => events.length > 0,
      { what: 'the page' },
    );
    expect(page[0]).toMatchObject({ action: 'trigger' });
  });
});

describe('a restore whose silence cannot be lifted after it', () => {
  let cluster: TestCluster;
  let t: TestBot;
  let am: TestAlertmanager;

  beforeAll(async () => {
    am = await startAlertmanager({ webhookUrl: 'http://127.0.0.1:9/unused' });
    // Database Jobs take 2 s: time to lose Alertmanager while the restore runs.
    cluster = await startTestCluster({ jobRunMs: 2_000 });
    t = await startTestBot({ cluster, env: { ALERTMANAGER_URL: am.url } });
  });
  afterAll(async () => {
    await t?.stop();
    await cluster.sim.stop();
    await am.stop();
  });

  it('is reported restored, saying what is still silenced and until when', async () => {
    const say = (text: string) =>
      sendSlashCommand(t.url, t.secret, {
        text,
        user: ENGINEER,
        channel: OPS,
        responseUrl: t.slack.responseUrl(OPS, ENGINEER),
      });
    await say('backup staging');
    const done = await waitFor(
      () => t.slack.messages.find((m) => !m.visibleTo && /^:white_check_mark: Backup of the /.test(m.text)),
      (m) => m !== undefined,
      { what: 'the backup', timeoutMs: 20_000 },
    );
    const id = /Job `(azora-backup-[a-z]+-\d{8}-\d{4}-[0-9a-f]{4})`/.exec(done!.text)![1]!;
    await say(`restore staging ${id}`);
    const request = await requestIn(t.slack, `restore staging ${id}`);
    await approveRestore(t, request, 'staging');
    const windowId = `m${request.id.slice(1)}`;
    await waitFor(
      async () => (await t.bot.deps.maintenanceWindows.get(windowId))?.silenceId,
      (silence) => silence !== undefined,
      { what: 'the restore window silencing staging', timeoutMs: 20_000 },
    );
    await am.stop();

    const final = await finalProgressOf(t.slack, request.ts, 40_000);
    expect(final).toMatch(/^:large_green_circle: succeeded/);
    expect(final).toContain(`database: restored from ${id}`);
    expect(final).toMatch(
      new RegExp(
        `maintenance ${windowId} is over, but what it silenced could not all be lifted .*alerts stay silenced until \\d{4}-`,
      ),
    );
    // The window's end is still announced: it is over for everyone.
    await waitFor(
      () => t.slack.messages.filter((m) => m.text.includes(windowId) && /over|ended/i.test(m.text)),
      (found) => found.length > 0,
      { what: 'the end of the window announced' },
    );
  });
});
