import type { Policy } from '../../src/config/policy';
import { AlertmanagerClient } from '../../src/kernel/alertmanager';
import type { MaintenanceWindow } from '../../src/maintenance/domain/window';
import { createLogger } from '../../src/kernel/log';
import { SimulatedPagerDuty } from '../../sandbox/pagerduty';
import { startAlertmanager, type TestAlertmanager } from '../kit/alertmanager';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster } from '../kit/cluster';
import { uniquePrefix } from '../kit/redis';
import { sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

const ANNOUNCE = 'C0ANNOUNCE';

describe('maintenance windows', () => {
  let policy: Policy;
  let am: TestAlertmanager;
  let pagerduty: SimulatedPagerDuty;
  const bots: TestBot[] = [];

  beforeAll(async () => {
    am = await startAlertmanager({ webhookUrl: 'http://127.0.0.1:9/unused' });
    pagerduty = await new SimulatedPagerDuty().start();
    const cluster = await startTestCluster();
    await cluster.sim.stop();
    // Announcements 2 s and 1 s ahead instead of days: the same jobs, on a short clock.
    policy = {
      ...cluster.policy,
      alerts: { ...cluster.policy.alerts, slackGap: 20 },
      // Short notice is its own test (access.test.ts); here windows start within seconds.
      maintenance: { notices: [2_000, 1_000], minNotice: 0, silence: true, pagerdutyServices: ['PAZORA1'] },
    };
  });
  afterAll(async () => {
    for (const bot of bots) await bot.stop();
    await am.stop();
    await pagerduty.stop();
  });

  const start = async (options: { prefix?: string; role?: 'all' | 'worker' } = {}) => {
    const bot = await startTestBot({
      policy,
      role: options.role ?? 'all',
      prefix: options.prefix,
      env: {
        ALERTMANAGER_URL: am.url,
        PAGERDUTY_API_TOKEN: pagerduty.env().PAGERDUTY_API_TOKEN!,
        PAGERDUTY_API_URL: pagerduty.apiUrl,
      },
    });
    bots.push(bot);
    return bot;
  };
  const shortWindow = (id: string, inMs: number, lastsMs: number): MaintenanceWindow => ({
    id,
    environment: 'production',
    start: Date.now() + inMs,
    end: Date.now() + inMs + lastsMs,
    reason: 'PostgreSQL minor upgrade',
    requester: 'U0ENGINEER',
    status: 'scheduled',
    recurring: false,
    createdAt: Date.now(),
  });
  /** What the announcements channel received, across the given bots' Slacks, in the order it arrived. */
  const announcements = (from: TestBot | TestBot[], id: string) =>
    [from]
      .flat()
      .flatMap((bot) => bot.slack.callsOf('chat.postMessage'))
      .filter((c) => c.args.channel === ANNOUNCE && String(c.args.text).includes(id))
      .sort((a, b) => a.at - b.at)
      .map((c) => String(c.args.text).split(' —')[0]);

  it('announces ahead, at the start and at the end, once each and in order, with two workers', async () => {
    const prefix = uniquePrefix();
    const first = await start({ prefix });
    const second = await start({ prefix, role: 'worker' });
    await first.bot.deps.maintenance.plan(shortWindow('m0001', 2_500, 1_500));
    const posted = await waitFor(
      () => announcements([first, second], 'm0001'),
      (texts) => texts.includes(':white_check_mark: *Maintenance over*'),
      { what: 'the end of the window', timeoutMs: 15_000 },
    );
    expect(posted).toEqual([
      ':loudspeaker: *Maintenance in 2s*',
      ':loudspeaker: *Maintenance in 1s*',
      ':construction: *Maintenance started*',
      ':white_check_mark: *Maintenance over*',
    ]);
    // Slack's date formatting, so everyone reads their own time zone.
    const started = [first, second]
      .flatMap((b) => b.slack.messages)
      .find((m) => m.text.startsWith(':construction:'));
    expect(started!.text).toMatch(/<!date\^\d+\^\{date_long_pretty\} \{time\}\|/);
  });

  it('silences the environment in Alertmanager and PagerDuty during the window, and lifts both at its end', async () => {
    const bot = await start();
    const client = new AlertmanagerClient(am.url, createLogger('silent'));
    await bot.bot.deps.maintenance.plan(shortWindow('m0002', 500, 2_500));
    const silence = await waitFor(
      async () => (await client.listSilences()).find((s) => s.comment.includes('m0002')),
      (s) => s?.status.state === 'active',
      { what: 'the maintenance silence' },
    );
    expect(silence!.matchers).toEqual([
      expect.objectContaining({ name: 'namespace', value: 'azora-production', isEqual: true }),
    ]);
    const pdWindow = await waitFor(
      () => [...pagerduty.maintenanceWindows.values()].find((w) => String(w.description).includes('m0002')),
      (w) => w !== undefined,
      { what: 'the PagerDuty maintenance window' },
    );
    expect(pdWindow!.services).toEqual([{ id: 'PAZORA1', type: 'service_reference' }]);
    expect(Date.parse(String(pdWindow!.end_time))).toBe(
      (await bot.bot.deps.maintenanceWindows.get('m0002'))!.end,
    );
    await waitFor(
      async () => (await client.listSilences()).find((s) => s.id === silence!.id)?.status.state,
      (state) => state === 'expired',
      { what: 'the silence to be lifted', timeoutMs: 10_000 },
    );
    await waitFor(
      () => announcements(bot, 'm0002'),
      (texts) => texts.includes(':white_check_mark: *Maintenance over*'),
      { what: 'the end announced', timeoutMs: 10_000 },
    );
    // PagerDuty's window ended at the same time; PagerDuty (and this one) refuses to
    // delete an ended window, which stops nothing.
    expect(Date.parse(String(pdWindow!.end_time))).toBeLessThanOrEqual(Date.now());
    const deletes = pagerduty.requests.filter(
      (r) => r.method === 'DELETE' && r.path.endsWith(`/${String(pdWindow!.id)}`),
    );
    expect(deletes.map((r) => r.status)).toEqual([405]);
  });

  it('runs a window only once it is silenced, and lifts what a start made for a window cancelled meanwhile', async () => {
    const bot = await start();
    const client = new AlertmanagerClient(am.url, createLogger('silent'));
    // PagerDuty is slow to make its window: the start job is between its two steps a while.
    pagerduty.slowNext('/maintenance_windows', 2_000);
    // Staging: its cancel needs no approver (test/e2e/access.test.ts has production's).
    await bot.bot.deps.maintenance.plan({ ...shortWindow('m0009', 300, 60_000), environment: 'staging' });
    const silence = await waitFor(
      async () => (await client.listSilences()).find((s) => s.comment.includes('m0009')),
      (s) => s?.status.state === 'active',
      { what: 'the maintenance silence' },
    );
    // Silenced, but not running until PagerDuty's window exists too (a restore waits for running).
    const meanwhile = (await bot.bot.deps.maintenanceWindows.get('m0009'))!;
    expect(meanwhile).toMatchObject({ status: 'scheduled', silenceId: silence!.id });

    await sendSlashCommand(bot.url, bot.secret, {
      text: 'maintenance cancel m0009',
      user: 'U0ENGINEER',
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', 'U0ENGINEER'),
    });
    await waitFor(
      async () => (await client.listSilences()).find((s) => s.id === silence!.id)?.status.state,
      (state) => state === 'expired',
      { what: 'the silence lifted by the cancel' },
    );
    // The PagerDuty window made after the cancel is deleted by the start job itself.
    const calls = () => pagerduty.requests.filter((r) => r.path.startsWith('/maintenance_windows'));
    await waitFor(
      () => calls().map((r) => `${r.method} ${r.status}`),
      (seen) => seen.includes('POST 201') && seen.some((c) => /^DELETE 2\d\d$/.test(c)),
      { what: 'the PagerDuty window made, then deleted', timeoutMs: 10_000 },
    );
    const job = await waitFor(
      async () =>
        (await bot.bot.queues.get('notify').getJobs(['completed'])).find(
          (j) => j.data.windowId === 'm0009' && j.data.notice === 'start',
        ),
      (j) => j !== undefined,
      { what: 'the start job done' },
    );
    expect(job!.returnvalue).toEqual({ skipped: 'not running' });
    expect(announcements(bot, 'm0009')).toEqual([':x: *Maintenance cancelled*']);
  });

  it('re-announces a moved window, and posts nothing more after a cancellation, saying it was cancelled', async () => {
    const bot = await start();
    const user = 'U0ENGINEER';
    const at = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16);
    await sendSlashCommand(bot.url, bot.secret, {
      // Staging: moving or cancelling a production window needs an approver (test/e2e/access.test.ts).
      text: `maintenance schedule ${at}Z 2h Redis cluster resize staging`,
      user,
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', user),
    });
    const scheduled = await waitFor(
      () =>
        bot.slack.messages.find((m) => m.channel === ANNOUNCE && m.text.includes('Maintenance scheduled')),
      (m) => m !== undefined,
      { what: 'the scheduled announcement' },
    );
    const id = /`(m[0-9a-f]{6})`/.exec(scheduled!.text)![1]!;
    const notify = bot.bot.queues.get('notify');

    // A second window over the first is taken, and its requester hears that they overlap.
    await sendSlashCommand(bot.url, bot.secret, {
      text: `maintenance schedule ${at}Z 1h Redis failover drill staging`,
      user,
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', user),
    });
    const overlap = await waitFor(
      () => bot.slack.messages.filter((m) => m.visibleTo === user && m.text.includes('It overlaps')),
      (found) => found.length > 0,
      { what: 'the overlap said' },
    );
    expect(overlap[0]!.text).toContain(`It overlaps \`${id}\` in staging`);
    const second = /Maintenance `(m[0-9a-f]{6})` scheduled/.exec(overlap[0]!.text)![1]!;
    await bot.bot.deps.maintenance.cancelWindow(second);
    expect((await notify.getJob(`maint-${id}-start`))?.opts.delay).toBeGreaterThan(2 * 86_400_000);

    // Moving it re-posts the change and re-times every announcement.
    const later = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 16);
    await sendSlashCommand(bot.url, bot.secret, {
      text: `maintenance move ${id} ${later}Z 3h`,
      user,
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', user),
    });
    await waitFor(
      () => announcements(bot, id),
      (texts) => texts.includes(':calendar: *Maintenance moved*'),
    );
    expect((await notify.getJob(`maint-${id}-start`))?.opts.delay).toBeGreaterThan(4 * 86_400_000);
    expect(
      (await bot.bot.deps.maintenanceWindows.get(id))!.end -
        (await bot.bot.deps.maintenanceWindows.get(id))!.start,
    ).toBe(3 * 3_600_000);

    await sendSlashCommand(bot.url, bot.secret, {
      text: `maintenance cancel ${id}`,
      user,
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', user),
    });
    await waitFor(
      () => announcements(bot, id),
      (texts) => texts.includes(':x: *Maintenance cancelled*'),
    );
    for (const notice of ['before-2000', 'before-1000', 'start', 'end']) {
      expect(await notify.getJob(`maint-${id}-${notice}`)).toBeUndefined();
    }
    await sendSlashCommand(bot.url, bot.secret, {
      text: 'maintenance list',
      user,
      responseUrl: bot.slack.responseUrl('C0AZORAOPS', user),
    });
    await waitFor(
      () => bot.slack.messages.filter((m) => m.visibleTo === user).map((m) => m.text),
      (texts) => texts.includes('No maintenance window is scheduled.'),
    );
  });

  it('announces a window moved after a notice went out again, at its new time', async () => {
    const bot = await start();
    await bot.bot.deps.maintenance.plan(shortWindow('m0003', 2_500, 60_000));
    await waitFor(
      () => announcements(bot, 'm0003'),
      (texts) => texts.includes(':loudspeaker: *Maintenance in 2s*'),
      { what: 'the first notice' },
    );
    const moved = await bot.bot.deps.maintenance.move('m0003', Date.now() + 3_000, 60_000);
    expect(moved).toBeDefined();
    await waitFor(
      () => announcements(bot, 'm0003'),
      (texts) => texts.includes(':construction: *Maintenance started*'),
      { what: 'the start at the new time', timeoutMs: 15_000 },
    );
    expect(announcements(bot, 'm0003')).toEqual([
      ':loudspeaker: *Maintenance in 2s*',
      ':loudspeaker: *Maintenance in 2s*',
      ':loudspeaker: *Maintenance in 1s*',
      ':construction: *Maintenance started*',
    ]);
    await bot.bot.deps.maintenance.cancelWindow('m0003');
  });

  it('keeps announcing after the worker restarts between notices', async () => {
    const prefix = uniquePrefix();
    const first = await start({ prefix });
    await first.bot.deps.maintenance.plan(shortWindow('m0003', 2_500, 1_000));
    await waitFor(
      () => announcements(first, 'm0003'),
      (texts) => texts.length >= 1,
      { what: 'the first notice' },
    );
    await first.stop({ keepData: true });
    bots.splice(bots.indexOf(first), 1);
    const second = await start({ prefix });
    await waitFor(
      () => announcements(second, 'm0003'),
      (texts) => texts.includes(':white_check_mark: *Maintenance over*'),
      { what: 'the remaining notices', timeoutMs: 15_000 },
    );
    expect(announcements([first, second], 'm0003')).toEqual([
      ':loudspeaker: *Maintenance in 2s*',
      ':loudspeaker: *Maintenance in 1s*',
      ':construction: *Maintenance started*',
      ':white_check_mark: *Maintenance over*',
    ]);
    // Its start is in the audit stream once, where alert graphs find it to mark it.
    const started = (await second.bot.deps.audit.recent(50)).filter(
      (e) => e.type === 'maintenance-start' && e.detail === 'm0003',
    );
    expect(started).toHaveLength(1);
  });

  it('refuses bad input with a clear reply and schedules nothing', async () => {
    const bot = await start();
    const user = 'U0ENGINEER';
    for (const [text, reply] of [
      ['maintenance schedule 2020-01-05T02:00Z 2h upgrade', '2020-01-05T02:00:00.000Z is in the past'],
      ['maintenance schedule sun 02:00 0m upgrade', 'the duration needs a duration such as 30s, 15m or 2h'],
      ['maintenance schedule sun 02:00 30h upgrade', 'the duration is at most 24h'],
      ['maintenance schedule sun 02:00 2h upgrade qa', "unknown environment 'qa'"],
      ['maintenance schedule next-week 2h upgrade', "cannot read the start 'next-week 2h'"],
    ]) {
      const res = await sendSlashCommand(bot.url, bot.secret, { text: text!, user });
      expect((res.json() as { text: string }).text).toContain(reply!);
    }
    expect(await bot.bot.deps.maintenanceWindows.upcoming(Date.now())).toEqual([]);
  });
});
