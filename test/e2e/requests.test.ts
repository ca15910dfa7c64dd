import { actionId } from '../../src/kernel/slack/actions';
import { executeRequestJob } from '../../src/requests/contracts';
import type { SimulatedMessage } from '../../sandbox/slack-api';
import { startTestBot, type TestBot } from '../kit/bot';
import { startTestCluster, type TestCluster } from '../kit/cluster';
import { sendButtonClick, sendSlashCommand } from '../kit/slack-requests';
import { waitFor } from '../kit/wait';
import { APPROVER, BYSTANDER, ENGINEER, OPS, PROD, SECOND_APPROVER, STG } from '../kit/ids';

describe('/azora change requests, end to end', () => {
  let cluster: TestCluster;
  let t: TestBot;

  beforeEach(async () => {
    cluster = await startTestCluster();
  });
  afterEach(async () => {
    await t?.stop();
    await cluster.sim.stop();
  });

  const start = async (guards: Record<string, number> = {}, timing?: { progressEveryMs: number }) => {
    const policy = { ...cluster.policy, guards: { ...cluster.policy.guards, ...guards } };
    t = await startTestBot({ cluster: { ...cluster, policy }, policy, ...(timing ? { timing } : {}) });
  };

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

  const click = (
    user: string,
    kind: 'approve' | 'deny' | 'switch-back',
    requestId: string,
    messageTs: string,
  ) =>
    sendButtonClick(t.url, t.secret, {
      user,
      actionId: actionId(kind, requestId),
      value: requestId,
      channel: OPS,
      messageTs,
      responseUrl: t.slack.responseUrl(OPS, user),
    });

  /** The parent message of the request whose text contains `fragment`, and its request id. */
  const requestFor = async (fragment: string) => {
    const message = (await waitFor(
      () => t.slack.messages.find((m) => m.text.startsWith('<@') && m.text.includes(fragment)),
      (m) => m !== undefined,
      { what: `a request message containing ${fragment}` },
    ))!;
    const id = /Request `(r[0-9a-f]{8})`/.exec(JSON.stringify(message.blocks))?.[1];
    if (!id) throw new Error(`no request id in ${JSON.stringify(message.blocks)}`);
    return { id, ts: message.ts, message };
  };

  const progress = (parentTs: string) =>
    t.slack.messages.find((m) => m.threadTs === parentTs && m.text.startsWith(':'));
  const finalProgress = (parentTs: string) =>
    waitFor(
      () => progress(parentTs)?.text ?? '',
      (text) => /^:(large_green_circle|red_circle|no_entry_sign|warning):/.test(text),
      { what: 'the progress message to reach a final state', timeoutMs: 15_000 },
    );
  const ephemeralTo = (user: string) =>
    t.slack.messages.filter((m) => m.visibleTo === user).map((m) => m.text);
  const selector = (service: string) =>
    (cluster.sim.get('services', PROD, service)!.spec as { selector: Record<string, string> }).selector;
  const replicas = (ns: string, name: string) =>
    (cluster.sim.get('deployments', ns, name)!.spec as { replicas: number }).replicas;

  it('runs a staging scale at once, without approval', async () => {
    await start();
    expect(await slash(ENGINEER, 'scale staging auth 4')).toMatch(/Planning `scale staging auth 4`/);
    const request = await requestFor('scale staging auth 4');
    expect(request.message.text).not.toContain('Approve');
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded in \d/);
    expect(progress(request.ts)!.text).toContain('auth: azora-auth scaled 2 → 4 · /api/auth/health healthy');
    expect(replicas(STG, 'azora-auth')).toBe(4);
  });

  it('makes one request when Slack fails between its two posts: the retried plan carries on with it', async () => {
    await start();
    // Slack takes the request's message, then rate-limits the progress post once.
    const failAfterRequest = (m: SimulatedMessage) => {
      if (!m.text.includes('asked to `scale staging auth 5`')) return;
      t.slack.off('message', failAfterRequest);
      t.slack.failNext('chat.postMessage', 429);
    };
    t.slack.on('message', failAfterRequest);
    await slash(ENGINEER, 'scale staging auth 5');
    const request = await requestFor('scale staging auth 5');
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
    expect(t.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.status === 429)).toHaveLength(1);
    expect(t.slack.messages.filter((m) => m.text.includes('asked to `scale staging auth 5`'))).toHaveLength(
      1,
    );
    const stored = await t.bot.deps.requests.recent('staging');
    expect(stored.map((r) => r.id)).toEqual([request.id]);
    expect(stored[0]).toMatchObject({ status: 'succeeded', messageTs: request.ts });
    expect(replicas(STG, 'azora-auth')).toBe(5);
  });

  it('brings a change’s thread to its end when Slack refuses writes less than a second apart', async () => {
    // This Slack answers 429 (Retry-After 1 s) to a write into a channel sooner than 900 ms
    // after the last: a request's message, its progress reply and their edits come closer.
    t = await startTestBot({
      cluster,
      policy: cluster.policy,
      slack: { minChannelGapMs: 900, retryAfterSeconds: 1 },
    });
    await slash(ENGINEER, 'switch production green payment');
    const request = await requestFor('switch production green payment');
    await waitFor(
      () => progress(request.ts)?.text ?? '',
      (text) => text.includes('waiting for approval'),
      { what: 'the progress reply', timeoutMs: 10_000 },
    );
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
    expect(selector('azora-payment').version).toBe('green');
    // The request's own message no longer offers Approve, and the switch back is offered.
    await waitFor(
      () => t.slack.messages.find((m) => m.ts === request.ts)?.blocks ?? [],
      (blocks) => !JSON.stringify(blocks).includes(actionId('approve', request.id)),
      { what: 'the request message without its buttons', timeoutMs: 10_000 },
    );
    await waitFor(
      () => t.slack.messages.find((m) => m.threadTs === request.ts && m.text.includes('Switch back')),
      (m) => m !== undefined,
      { what: 'the switch back offer', timeoutMs: 10_000 },
    );
    expect(t.slack.calls.filter((c) => c.status === 429).length).toBeGreaterThan(0);
    expect((await t.bot.deps.requests.get(request.id))?.status).toBe('succeeded');
  }, 40_000);

  it('still offers the switch back once when Slack failed the offer after the switch was made', async () => {
    await start();
    await slash(ENGINEER, 'switch production green auth');
    const request = await requestFor('switch production green auth');
    await waitFor(
      () => progress(request.ts)?.text ?? '',
      (text) => text.includes('waiting for approval'),
      { what: 'the progress reply' },
    );
    // The next post (the offer, once the switch is made) fails, the client's retries too.
    t.slack.failNext('chat.postMessage', 500, 3);
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
    const offers = () =>
      t.slack.messages.filter((m) => m.threadTs === request.ts && m.text.includes('Switch back'));
    await waitFor(offers, (found) => found.length > 0, { what: 'the switch back offer', timeoutMs: 15_000 });
    const job = await t.bot.queues.get('ops').getJob(`execute-${request.id}`);
    await waitFor(
      () => job!.getState(),
      (state) => state === 'completed',
      { what: 'the execute job done' },
    );
    expect(offers()).toHaveLength(1);
    expect(await t.bot.queues.get('ops').getJob(`end-bake-${request.id}`)).toBeDefined();
    expect(selector('azora-auth').version).toBe('green');
    expect(
      (await t.bot.deps.audit.recent(50, 'production')).filter(
        (e) => e.request === request.id && e.type === 'succeeded',
      ),
    ).toHaveLength(1);
  }, 40_000);

  it('holds a production rollback for approval; refuses the requester, a bystander; runs once when approved twice', async () => {
    await start();
    await slash(ENGINEER, 'rollback production payment');
    const request = await requestFor('rollback production payment');
    expect(JSON.stringify(request.message.blocks)).toContain(actionId('approve', request.id));
    expect(request.message.text).toContain('waiting for approval');

    await click(ENGINEER, 'approve', request.id, request.ts);
    await waitFor(
      () => ephemeralTo(ENGINEER),
      (texts) => texts.some((x) => x.includes('someone else must approve')),
    );
    await click(BYSTANDER, 'approve', request.id, request.ts);
    await waitFor(
      () => ephemeralTo(BYSTANDER),
      (texts) => texts.some((x) => x.includes('only <@U0APPROVER1>')),
    );
    expect(selector('azora-payment').version).toBe('blue');

    // Two approvers at once, one of them pressing twice.
    await Promise.all([
      click(APPROVER, 'approve', request.id, request.ts),
      click(SECOND_APPROVER, 'approve', request.id, request.ts),
      click(APPROVER, 'approve', request.id, request.ts),
    ]);
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
    expect(selector('azora-payment').version).toBe('green');

    const approvals = (await t.bot.deps.audit.recent(50, 'production')).filter(
      (e) => e.request === request.id,
    );
    expect(approvals.filter((e) => e.type === 'approved')).toHaveLength(1);
    expect(approvals.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    const executions = (
      await t.bot.queues.get('ops').getJobs(['completed', 'active', 'waiting'], 0, 100)
    ).filter((j) => j.name === 'execute-request');
    expect(executions).toHaveLength(1);
    // The job carried the request as its approval stored it, for the worker's claim to start from.
    expect(JSON.parse((executions[0]!.data as { approved: string }).approved)).toMatchObject({
      id: request.id,
      status: 'approved',
      approvedBy: { user: expect.stringMatching(/^U0APPROVER[12]$/) },
    });
    // The two clicks that lost are answered through their response_url, which may come last.
    const refusedTwice = await waitFor(
      () =>
        [...ephemeralTo(APPROVER), ...ephemeralTo(SECOND_APPROVER)].filter((x) =>
          x.includes('already approved by'),
        ),
      (refusals) => refusals.length >= 2,
      { what: 'both losing approvals to be told who approved' },
    );
    expect(refusedTwice).toHaveLength(2);

    // The parent lost its buttons and says who approved; a switch back is offered for the bake window.
    const parent = t.slack.messages.find((m) => m.ts === request.ts)!;
    expect(JSON.stringify(parent.blocks)).not.toContain(actionId('approve', request.id));
    expect(JSON.stringify(parent.blocks)).toMatch(/approved by <@U0APPROVER[12]>/);
    await waitFor(
      () =>
        t.slack.messages.find(
          (m) =>
            m.threadTs === request.ts &&
            JSON.stringify(m.blocks).includes(actionId('switch-back', request.id)),
        ),
      (m) => m !== undefined,
      { what: 'the switch-back offer' },
    );
  });

  it('runs the request as stored, not as an execute job carries it', async () => {
    await start();
    await slash(ENGINEER, 'switch production green auth');
    const request = await requestFor('switch production green auth');
    // The plan is posted and its progress reply recorded: nothing else changes the request.
    await waitFor(
      () => t.bot.deps.requests.get(request.id),
      (r) => r?.progressTs !== undefined,
      { what: 'the progress reply to be recorded' },
    );
    // Approved in the store, with no job yet; then a job whose carried text names another service.
    const approved = await t.bot.deps.requests.update(request.id, (current) => ({
      next: { ...current, status: 'approved', approvedBy: { user: APPROVER, at: Date.now() } },
      value: null,
    }));
    const forged = JSON.parse(approved!.stored!) as { plan: { service: string }[] };
    forged.plan = forged.plan.map((step) => ({ ...step, service: 'payment' }));
    await t.bot.deps.queues.enqueue(
      executeRequestJob,
      { requestId: request.id, approved: JSON.stringify(forged) },
      { jobId: `execute-${request.id}` },
    );

    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
    expect(selector('azora-auth').version).toBe('green');
    expect(selector('azora-payment').version).toBe('blue');
  });

  it('refuses an expired approval and changes nothing', async () => {
    await start({ approvalTtl: 300 });
    await slash(ENGINEER, 'switch production green auth');
    const request = await requestFor('switch production green auth');
    await waitFor(
      () => t.slack.messages.find((m) => m.ts === request.ts)!.text,
      (text) => text.includes('expired'),
    );
    await click(APPROVER, 'approve', request.id, request.ts);
    await waitFor(
      () => ephemeralTo(APPROVER),
      (texts) => texts.some((x) => x.includes('this request is expired')),
    );
    expect(selector('azora-auth').version).toBe('blue');
    expect((await t.bot.deps.requests.get(request.id))!.status).toBe('expired');
  });

  it('lets the requester withdraw with Deny', async () => {
    await start();
    await slash(ENGINEER, 'switch production green education');
    const request = await requestFor('switch production green education');
    await click(ENGINEER, 'deny', request.id, request.ts);
    await waitFor(
      () => t.slack.messages.find((m) => m.ts === request.ts)!.text,
      (text) => text.includes('denied'),
    );
    expect(selector('azora-education').version).toBe('blue');
  });

  it('refuses a scale out of the policy bounds before anything is queued', async () => {
    await start();
    const answer = await slash(ENGINEER, 'scale production api-gateway 11');
    expect(answer).toBe(
      ':no_entry: api-gateway in production must run between 3 and 10 replicas (policy); 11 is outside. Nothing was changed.',
    );
    // Only the daily backup's scheduler waits in the queue: nothing was asked for.
    const queued = await t.bot.queues.get('ops').getJobs(['wait', 'active', 'delayed', 'completed'], 0, 100);
    expect(queued.map((j) => j.name).filter((name) => name !== 'scheduled-backup')).toEqual([]);
  });

  it('refuses a switch or rollback its services do not take before anything is queued', async () => {
    await start();
    expect(await slash(ENGINEER, 'switch staging green')).toBe(
      ':no_entry: staging has no blue/green service: its services roll out, and switch moves traffic between colours. Nothing was changed.',
    );
    expect(await slash(ENGINEER, 'switch production green postgres-replica')).toBe(
      ':no_entry: postgres-replica in production is not deployed blue/green: switch moves traffic between colours. Nothing was changed.',
    );
    expect(await slash(ENGINEER, 'rollback production payment to 3')).toBe(
      ':no_entry: payment in production is blue/green: a rollback switches back to the previous colour and has no revision to name. Nothing was changed.',
    );
    expect(await slash(ENGINEER, 'rollback staging postgres-replica')).toBe(
      ':no_entry: postgres-replica is a statefulset; the bot rolls back deployments only. Nothing was changed.',
    );
    const queued = await t.bot.queues.get('ops').getJobs(['wait', 'active', 'delayed', 'completed'], 0, 100);
    expect(queued.map((j) => j.name).filter((name) => name !== 'scheduled-backup')).toEqual([]);
  });

  it('refuses a second change of a service while one runs, naming the holder', async () => {
    await cluster.sim.stop();
    cluster = await startTestCluster({ readyDelayMs: 1_500 });
    await start();
    await slash(ENGINEER, 'scale staging payment 4');
    const first = await requestFor('scale staging payment 4');
    await waitFor(
      () => progress(first.ts)?.text ?? '',
      (text) => text.startsWith(':gear: running'),
    );
    await slash(BYSTANDER, 'scale staging payment 5');
    await waitFor(
      () => ephemeralTo(BYSTANDER),
      (texts) =>
        texts.some((x) =>
          x.includes(`payment is being changed by request \`${first.id}\` of <@${ENGINEER}>`),
        ),
    );
    expect(await finalProgress(first.ts)).toMatch(/succeeded/);
    expect(replicas(STG, 'azora-payment')).toBe(4);
  });

  it('keeps scale changes of one service 3 minutes apart unless forced by an approver', async () => {
    await start();
    await slash(ENGINEER, 'scale staging education 3');
    expect(await finalProgress((await requestFor('scale staging education 3')).ts)).toMatch(/succeeded/);
    await slash(ENGINEER, 'scale staging education 4');
    const second = await requestFor('scale staging education 4');
    expect(await finalProgress(second.ts)).toMatch(/^:no_entry_sign: refused/);
    expect(progress(second.ts)!.text).toMatch(/education was scaled \d+m?s ago; scale changes are 3m apart/);
    expect(replicas(STG, 'azora-education')).toBe(3);

    // An engineer's force does not count in staging, and the refusal says so.
    await slash(ENGINEER, 'scale staging education 5 force');
    const unforced = await requestFor('scale staging education 5 force');
    expect(await finalProgress(unforced.ts)).toMatch(/^:no_entry_sign: refused/);
    expect(progress(unforced.ts)!.text).toContain('`force` did not count');
    expect(replicas(STG, 'azora-education')).toBe(3);

    await slash(APPROVER, 'scale staging education 4 force');
    expect(await finalProgress((await requestFor('scale staging education 4 force')).ts)).toMatch(
      /succeeded/,
    );
    expect(replicas(STG, 'azora-education')).toBe(4);
  });

  it('answers /azora status with the live state, pending approvals and the audit trail', async () => {
    await start();
    await slash(ENGINEER, 'switch production green payment');
    const request = await requestFor('switch production green payment');
    await slash(ENGINEER, 'status prod');
    const status = await waitFor(
      () => ephemeralTo(ENGINEER).find((x) => x.startsWith('production status:')),
      (x) => x !== undefined,
      { what: 'the status reply' },
    );
    expect(status).toContain(
      'api-gateway: azora-api-gateway-blue 3/3, azora-api-gateway-green 3/3 (live blue)',
    );
    const blocks = JSON.stringify(t.slack.messages.find((m) => m.text === status)!.blocks);
    expect(blocks).toContain(
      `*Waiting for approval:* \`${request.id}\` switch production green payment by <@${ENGINEER}>`,
    );
    expect(blocks).toContain('HPA 3–10');
    expect(blocks).toMatch(/requested r[0-9a-f]{8} by <@U0ENGINEER>/);
  });

  it('posts the logs of a service in a thread, redacted', async () => {
    await start();
    expect(await slash(ENGINEER, 'logs production payment 30')).toMatch(/appear in a thread/);
    const header = await waitFor(
      () => t.slack.messages.find((m) => m.text.startsWith(':scroll: Logs of *payment*')),
      (m) => m !== undefined,
      { what: 'the logs header' },
    );
    expect(header!.text).toContain('last 30 lines across 3 pods (30 lines)');
    const body = await waitFor(
      () =>
        t.slack.messages
          .filter((m) => m.threadTs === header!.ts)
          .map((m) => m.text)
          .join('\n'),
      (text) => text.split('\n').length >= 30,
      { what: 'the log lines in the thread' },
    );
    expect(body.split('\n')).toHaveLength(30);
    expect(body).not.toMatch(/password=(?!\[redacted\])/);
  });

  it('follows logs on their own queue, into the thread through the paced outbox, and gives the slot back', async () => {
    await start();
    expect(await slash(ENGINEER, 'logs production payment follow 3s')).toMatch(/appear in a thread/);
    const header = await waitFor(
      () => t.slack.messages.find((m) => m.text.startsWith(':scroll: Logs of *payment*')),
      (m) => m !== undefined,
      { what: 'the follow header' },
    );
    expect(header!.text).toContain('following for 3s');
    await waitFor(
      async () =>
        (await t.bot.queues.get('logs').getJobs(['completed'])).map(
          (j) => j.returnvalue as { lines: number },
        ),
      (done) => done.length === 1,
      { what: 'the follow to end', timeoutMs: 15_000 },
    );
    const ops = await t.bot.queues.get('ops').getJobs(['completed', 'wait', 'active', 'delayed']);
    expect(ops.filter((j) => j.name === 'logs')).toEqual([]);
    await waitFor(
      () => t.bot.deps.outbox.pending(),
      (left) => left === 0,
      { what: 'the follow output to be posted' },
    );
    const lines = t.slack.messages.filter((m) => m.threadTs === header!.ts);
    expect(lines.length).toBeGreaterThan(0);
    // One message per 2 s flush at most: a 3 s follow is never a flood.
    expect(lines.length).toBeLessThanOrEqual(3);
    // Through the outbox: every write to the channel after the header, at the pacing gap.
    const writes = t.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === OPS);
    expect(writes.filter((c) => c.status === 429)).toEqual([]);
    // The follow slot was given back: the same user can follow again at once.
    expect(await t.bot.deps.gate.reserveFollow(ENGINEER, 'probe', Date.now(), Date.now() + 1_000, 1)).toBe(0);
  });

  it('switches several services only when every target colour is ready: otherwise none moves', async () => {
    await start();
    await slash(ENGINEER, 'switch production green');
    const request = await requestFor('switch production green');
    // After the plan, the last service's green goes away.
    await cluster.kube.clients('production').apps.patchNamespacedDeployment({
      name: 'azora-payment-green',
      namespace: PROD,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await click(APPROVER, 'approve', request.id, request.ts);
    const final = await finalProgress(request.ts);
    expect(final).toContain('not switching anything: payment to green: azora-payment-green has 0 replicas');
    for (const service of ['azora-api-gateway', 'azora-auth', 'azora-education', 'azora-payment'])
      expect(selector(service).version).toBe('blue');
  });

  it('keeps the lock of a change that outlasts the lease, renewing it at every step', async () => {
    await cluster.sim.stop();
    // Pods take 1 s to become ready, so each rollback step takes about as long; the lease is 1.5 s.
    cluster = await startTestCluster({ readyDelayMs: 1_000 });
    await start({ lockLease: 1_500 });
    await slash(ENGINEER, 'rollback staging');
    const request = await requestFor('rollback staging');
    const stored = () => t.bot.deps.requests.get(request.id);
    const plan = (await stored())!.plan;
    expect(plan.length).toBeGreaterThanOrEqual(3);
    // Two steps done: more than a lease since the locks were taken, and the change goes on.
    await waitFor(
      async () => (await stored())?.outcome?.length ?? 0,
      (n) => n >= 2,
      {
        what: 'two steps done',
      },
    );
    const last = plan[plan.length - 1]!.service;
    expect(await t.bot.deps.locks.holder('staging', last)).toBe(request.id);
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
  });

  it('keeps the lock through one step longer than the lease, and refuses a change beside it', async () => {
    await cluster.sim.stop();
    // One rollback step: its pods take 3 s to be ready, twice the 1.5 s lease.
    cluster = await startTestCluster({ readyDelayMs: 3_000 });
    await start({ lockLease: 1_500 });
    await slash(ENGINEER, 'rollback staging payment');
    const request = await requestFor('rollback staging payment');
    await waitFor(
      async () => (await t.bot.deps.requests.get(request.id))?.status,
      (status) => status === 'running',
      { what: 'the rollback running' },
    );
    // Real time is the subject here: the step has to outlast the lease.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await t.bot.deps.requests.get(request.id))?.outcome ?? []).toEqual([]);
    expect(await t.bot.deps.locks.holder('staging', 'payment')).toBe(request.id);
    await slash(ENGINEER, 'scale staging payment 3');
    await waitFor(
      () => ephemeralTo(ENGINEER).filter((x) => x.includes(`\`${request.id}\``)),
      (found) => found.length > 0,
      { what: 'the scale refused, naming the rollback' },
    );
    expect(replicas(STG, 'azora-payment')).not.toBe(3);
    expect(await finalProgress(request.ts)).toMatch(/^:large_green_circle: succeeded/);
  });

  it('redraws the progress of a long step: how long it has run, and what runs now', async () => {
    await cluster.sim.stop();
    // One rollback step of about 3 s (its pods take that long to be ready), redrawn every 0.5 s.
    cluster = await startTestCluster({ readyDelayMs: 3_000 });
    await start({}, { progressEveryMs: 500 });
    await slash(ENGINEER, 'rollback staging payment');
    const request = await requestFor('rollback staging payment');
    const during = await waitFor(
      () => progress(request.ts)?.text ?? '',
      (text) => /running for \d+s/.test(text),
      { what: 'the progress redrawn while the step runs' },
    );
    expect(during).toMatch(
      /:hourglass_flowing_sand: now: \*payment\*: `azora-payment` revision \d+ → \*\d+\*/,
    );
    const final = await finalProgress(request.ts);
    expect(final).toMatch(/^:large_green_circle: succeeded/);
    expect(final).not.toContain('now:');
  });

  it('says what the cluster answered when /azora status cannot read it, as text, not markup', async () => {
    await start();
    cluster.sim.faults.failNext(10, {
      status: 502,
      message: '<html><title>502 Bad Gateway</title></html> <!channel>',
    });
    await slash(ENGINEER, 'status staging');
    const reply = await waitFor(
      () =>
        t.slack.messages.find((m) => m.visibleTo === ENGINEER && m.text.includes('could not read staging')),
      (m) => m !== undefined,
      { what: 'the status error' },
    );
    const shown = JSON.stringify(reply);
    expect(shown).toContain('&lt;html&gt;&lt;title&gt;502 Bad Gateway');
    expect(shown).not.toContain('<!channel>');
    expect(shown).not.toContain('<html>');
    cluster.sim.faults.clear();
  });

  it('says at once when a switched service is unhealthy, with the switch back one click away', async () => {
    await start();
    cluster.sim.setHealthy(PROD, 'azora-auth-green', false);
    await slash(ENGINEER, 'switch production green auth');
    const request = await requestFor('switch production green auth');
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/:warning: \/api\/auth\/health unhealthy/);
    const offer = await waitFor(
      () =>
        t.slack.messages.find((m) => JSON.stringify(m.blocks).includes(actionId('switch-back', request.id))),
      (m) => m !== undefined,
      { what: 'the switch-back offer' },
    );
    expect(offer!.threadTs).toBe(request.ts);
    expect(offer!.text).toBe('auth unhealthy after the switch. Switch back to blue?');
    expect((await t.bot.deps.requests.get(request.id))!.unhealthy).toEqual(['auth']);
  });

  it('offers a switch back after a production switch, through the same approval', async () => {
    await start();
    await slash(ENGINEER, 'switch production green auth');
    const request = await requestFor('switch production green auth');
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/succeeded/);
    expect(selector('azora-auth').version).toBe('green');

    await waitFor(
      () =>
        t.slack.messages.find((m) => JSON.stringify(m.blocks).includes(actionId('switch-back', request.id))),
      (m) => m !== undefined,
      { what: 'the switch-back offer' },
    );
    await click(ENGINEER, 'switch-back', request.id, request.ts);
    const back = await requestFor('switch production blue auth');
    expect(back.message.threadTs).toBe(request.ts);
    await click(SECOND_APPROVER, 'approve', back.id, back.ts);
    await waitFor(
      () => selector('azora-auth').version,
      (v) => v === 'blue',
      { what: 'the switch back' },
    );
  });

  it('offers the switch back when a switch of several services failed after moving some of them', async () => {
    await start();
    // The third Service refuses the patch (RBAC, say): two services moved, two did not.
    cluster.sim.faults.failNext(1, { method: 'PATCH', path: /services\/azora-education$/, status: 403 });
    await slash(ENGINEER, 'switch production green');
    const request = await requestFor('switch production green');
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/^:red_circle: failed/);
    expect(
      ['azora-api-gateway', 'azora-auth', 'azora-education', 'azora-payment'].map((n) => selector(n).version),
    ).toEqual(['green', 'green', 'blue', 'blue']);

    await waitFor(
      () =>
        t.slack.messages.find((m) => JSON.stringify(m.blocks).includes(actionId('switch-back', request.id))),
      (m) => m !== undefined,
      { what: 'the switch-back offer after the failure' },
    );
    const offer = t.slack.messages.find((m) =>
      JSON.stringify(m.blocks).includes(actionId('switch-back', request.id)),
    );
    expect(offer!.text).toBe('This change failed after it moved traffic. Switch back to blue?');
    await click(ENGINEER, 'switch-back', request.id, request.ts);
    const back = await requestFor('switch production blue');
    // Only what moved goes back: education and payment never left blue.
    expect((await t.bot.deps.requests.get(back.id))!.plan.map((step) => step.service)).toEqual([
      'api-gateway',
      'auth',
    ]);
    await click(SECOND_APPROVER, 'approve', back.id, back.ts);
    await waitFor(
      () => ['azora-api-gateway', 'azora-auth'].map((n) => selector(n).version),
      (v) => v.every((c) => c === 'blue'),
      { what: 'the moved services back on blue' },
    );
  });

  it('switches each service back to the colour it left, when they went different ways', async () => {
    await start();
    // payment is live on green (switched with its record), the others on blue: a rollback
    // moves them opposite ways, each to the colour live before.
    const image = (version: string) => `registry.azora.world/azora/payment:${version}`;
    await cluster.kube.switchColour('production', 'payment', 'green', 5_000, {
      id: 'r0000aaaa',
      action: 'switch',
      version: 'v1.4.1',
      image: image('v1.4.1'),
      colour: 'green',
      previous: { colour: 'blue', version: 'v1.5.0', image: image('v1.5.0') },
      requester: ENGINEER,
      approver: APPROVER,
      start: Date.now(),
      end: Date.now(),
      result: 'succeeded',
    });
    await slash(ENGINEER, 'rollback production');
    const request = await requestFor('rollback production');
    await click(APPROVER, 'approve', request.id, request.ts);
    expect(await finalProgress(request.ts)).toMatch(/succeeded/);
    expect(selector('azora-payment').version).toBe('blue');
    expect(selector('azora-auth').version).toBe('green');

    const offer = await waitFor(
      () =>
        t.slack.messages.find((m) => JSON.stringify(m.blocks).includes(actionId('switch-back', request.id))),
      (m) => m !== undefined,
      { what: 'the switch-back offer' },
    );
    expect(JSON.stringify(offer!.blocks)).toContain('Switch back to each one’s previous colour');
    await click(ENGINEER, 'switch-back', request.id, request.ts);
    const back = await requestFor('switch production api-gateway to blue');
    expect(back.message.text).toContain('payment to green');
    await click(SECOND_APPROVER, 'approve', back.id, back.ts);
    // The switch back lives in the first request's thread: wait for the cluster.
    await waitFor(
      () => selector('azora-payment').version,
      (v) => v === 'green',
      { what: 'payment back on green' },
    );
    for (const name of ['azora-api-gateway', 'azora-auth', 'azora-education'])
      expect(selector(name).version).toBe('blue');
    expect(selector('azora-payment').version).toBe('green');
  });
});
