import { MAX_FOLLOW_LINES, readLogs } from '../../src/logs/read';
import { LOG_BYTES_PER_POD } from '../../src/kernel/kubernetes/kubernetes';
import { FOLLOW_BYTES_PER_POD } from '../../src/kernel/kubernetes/logs';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { ENGINEER, OPS, STG } from '../kit/ids';
import { sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';

/**
 * What `/azora logs` asks of the cluster and how much it takes: every pod's log read with a
 * byte limit the API server enforces, and a follow that stops at its line cap, saying so.
 * The simulated cluster's pods write a line a millisecond, so a follow reaches the cap in
 * about a second.
 */
describe('logs, bounded', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeAll(async () => {
    cluster = await startTestCluster({ logIntervalMs: 1 });
    // Slack's pace between posts to one channel, shortened: these tests count requests, not seconds.
    const policy = { ...cluster.policy, alerts: { ...cluster.policy.alerts, slackGap: 50 } };
    t = await startTestBot({ cluster: { ...cluster, policy }, policy });
  });
  afterAll(async () => {
    await t.stop();
    await cluster.sim.stop();
  });

  const logs = async (text: string) => {
    const res = await sendSlashCommand(t.url, t.secret, {
      text: `logs ${text}`,
      user: ENGINEER,
      channel: OPS,
      responseUrl: t.slack.responseUrl(OPS, ENGINEER),
    });
    expect((res.json() as { text: string }).text).toMatch(/appear in a thread/);
  };
  /** The log reads the cluster received since `from` (an index into its request record). */
  const logReads = (from: number) =>
    cluster.sim.requests
      .slice(from)
      .filter((r) => r.method === 'GET' && r.url.startsWith(`/api/v1/namespaces/${STG}/pods/`))
      .map((r) => new URL(r.url, 'http://cluster').searchParams);
  const headerWith = (fragment: string) =>
    waitFor(
      () =>
        t.slack.messages.find(
          (m) => m.text.startsWith(':scroll: Logs of *payment*') && m.text.includes(fragment),
        ),
      (m) => m !== undefined,
      { what: `a logs header saying ${fragment}`, timeoutMs: 15_000 },
    ).then((m) => m!);
  /** What the logs job gets for `/azora logs staging payment 50 follow …`, for calling its code as a worker does. */
  const followQuery = (followMs: number) =>
    ({
      environment: 'staging',
      service: 'payment',
      lines: 50,
      followMs,
      channel: OPS,
      requester: ENGINEER,
      responseUrl: t.slack.responseUrl(OPS, ENGINEER),
    }) as const;
  const podCount = async () => (await cluster.kube.podsOf('staging', 'payment')).pods.length;

  it('reads every pod’s log with limitBytes, a grep too', async () => {
    const pods = await podCount();
    let from = cluster.sim.requests.length;
    await logs('staging payment 30');
    await headerWith('last 30 lines');
    let reads = logReads(from);
    expect(reads).toHaveLength(pods);
    for (const query of reads) {
      expect(query.get('limitBytes')).toBe(String(LOG_BYTES_PER_POD));
      expect(query.get('tailLines')).not.toBeNull();
    }

    // A grep reads a far wider window of lines: the byte limit still holds for each pod.
    from = cluster.sim.requests.length;
    await logs('staging payment grep no-such-text');
    await headerWith('matching “no-such-text”');
    reads = logReads(from);
    expect(reads).toHaveLength(pods);
    for (const query of reads) expect(query.get('limitBytes')).toBe(String(LOG_BYTES_PER_POD));
  });

  it('stops a follow at the line cap and says so, each pod’s stream byte-limited', async () => {
    const from = cluster.sim.requests.length;
    await logs('staging payment follow 5m');
    const header = await headerWith(`stopped at ${MAX_FOLLOW_LINES} lines (the cap)`);
    expect(header.text).toContain(`(${MAX_FOLLOW_LINES} lines)`);
    const done = await waitFor(
      async () =>
        (await t.bot.queues.get('logs').getJobs(['completed'])).map((j) => j.returnvalue as unknown),
      (values) => values.some((v) => (v as { lines?: number }).lines === MAX_FOLLOW_LINES),
      { what: 'the follow job to end at the cap' },
    );
    expect(done.length).toBeGreaterThan(0);
    // Long before its 5 minutes: the cap ended it, and every stream it opened was byte-limited.
    const follows = logReads(from).filter((q) => q.get('follow') === 'true');
    expect(follows).toHaveLength(await podCount());
    for (const query of follows) {
      expect(query.get('limitBytes')).toBe(String(FOLLOW_BYTES_PER_POD));
      // New lines only: from the follow's start, not the pod's whole log first.
      expect(query.get('sinceTime')).not.toBeNull();
    }
  });

  it('posts the new lines of a follow that another worker took over, in the same thread', async () => {
    // What the logs job runs, called as a second worker runs it after the first one died:
    // the same job id, its second run.
    const deps = { ...t.bot.deps, kube: cluster.kube };
    const query = followQuery(500);
    const from = t.slack.messages.length;
    const thread = () => {
      const posted = t.slack.messages.slice(from);
      const headers = posted.filter((m) => !m.threadTs && m.text.startsWith(':scroll: Logs of *payment*'));
      const replies = posted.filter((m) => headers[0] && m.threadTs === headers[0].ts);
      return { headers: headers.length, replies: replies.length };
    };
    await readLogs(deps, query, { id: 'follow-taken-over', attempt: 1 });
    const first = await waitFor(thread, (p) => p.headers === 1 && p.replies > 0, {
      what: 'the first run’s lines in the thread',
    });
    await readLogs(deps, query, { id: 'follow-taken-over', attempt: 2 });
    const after = await waitFor(thread, (p) => p.replies > first.replies, {
      what: 'the second run’s lines in the same thread',
    });
    expect(after.headers).toBe(1);
  });

  it('stops a follow whose run lost its job to another worker, before its next post', async () => {
    const deps = { ...t.bot.deps, kube: cluster.kube };
    // A few lines a second, far from the line cap that would end the follow first.
    const query = { ...followQuery(120_000), grep: 'deadlock detected' };
    const from = t.slack.messages.length;
    const replies = () => t.slack.messages.slice(from).filter((m) => m.threadTs).length;
    let owned = true;
    const checks: boolean[] = [];
    const run = readLogs(deps, query, {
      id: 'follow-lost',
      attempt: 1,
      owned: async () => (checks.push(owned), owned),
    });
    await waitFor(replies, (n) => n > 0, { what: 'the follow’s first lines' });
    // Its worker stalled past the stall time; another took the job over.
    owned = false;
    // Two minutes of following end at the next flush instead.
    await expect(run).resolves.toMatchObject({ lost: true });
    expect(checks.at(-1)).toBe(false);
    expect(checks.filter((c) => !c)).toHaveLength(1);
  });
});
