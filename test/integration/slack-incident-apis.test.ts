import { App, HTTPReceiver, LogLevel, type SlackEventMiddlewareArgs } from '@slack/bolt';
import { ErrorCode, WebClient, type WebAPICallResult } from '@slack/web-api';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/kernel/log';
import { createMetrics } from '../../src/kernel/metrics';
import { slackLogger } from '../../src/kernel/slack/logger';
import { guardSlackEndpoint, SLACK_BODY_LIMIT } from '../../src/web/slack-gate';
import { SIMULATED_BOT_USER, SimulatedSlack, type SimulatedEvent } from '../../sandbox/slack-api';
import { METHOD_TIERS, tierLimit } from '../../sandbox/slack-rate-limits';
import { SANDBOX_USERS } from '../../sandbox/users';
import { APPROVER, ENGINEER, SECOND_APPROVER } from '../kit/ids';
import { simulatedSlackClient } from '../kit/slack-client';
import { sendEvent } from '../kit/slack-requests';

/**
 * What incident channels need of Slack, driven through the real Web API client against the
 * simulated Slack: channels (create, info, topic, invite, members, archive), pins,
 * reactions, people by e-mail, the external file upload behind filesUploadV2, Events API
 * deliveries of what people do, and per-method rate limits.
 */

const quiet = slackLogger(createLogger('silent'));

type Failure = { error: string; errors?: unknown; messages?: string[] };

/** What the simulated Slack answered a call that failed: its error, per-user errors, Slack's lines. */
async function failure(call: Promise<WebAPICallResult>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const data = (err as { data?: WebAPICallResult & { error?: string; errors?: unknown } }).data;
    if (!data) throw err;
    return {
      error: String(data.error),
      ...(data.errors !== undefined ? { errors: data.errors } : {}),
      ...(data.response_metadata?.messages ? { messages: data.response_metadata.messages } : {}),
    };
  }
  throw new Error('the call succeeded');
}

describe('incident channels: conversations.create, info, setTopic, invite, members, archive', () => {
  let slack: SimulatedSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await new SimulatedSlack({
      channels: [
        { id: 'C0INCIDENTS', name: 'incidents', members: [SIMULATED_BOT_USER, ENGINEER] },
        // The bot was never added: it may read a public channel, not act in it.
        { id: 'C0ELSEWHERE', name: 'elsewhere', members: [ENGINEER] },
        { id: 'C0SECRET', name: 'secret', isPrivate: true, members: [APPROVER] },
        { id: 'C0OLDINC', name: 'inc-2023-legacy', archived: true },
      ],
    }).start();
    client = simulatedSlackClient(slack);
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('creates a channel the bot is in, and conversations.info shows it', async () => {
    const created = await client.conversations.create({ name: 'inc-20240611-api-latency' });
    const id = created.channel!.id!;
    expect(id).toMatch(/^C[0-9A-Z]{10}$/);
    expect(created.channel).toMatchObject({
      name: 'inc-20240611-api-latency',
      is_channel: true,
      is_private: false,
      is_archived: false,
      is_member: true,
      creator: SIMULATED_BOT_USER,
      topic: { value: '', creator: '', last_set: 0 },
    });
    expect(slack.channel('inc-20240611-api-latency')).toMatchObject({ id, members: [SIMULATED_BOT_USER] });

    const info = await client.conversations.info({ channel: id, include_num_members: true });
    expect(info.channel).toMatchObject({
      id,
      name: 'inc-20240611-api-latency',
      is_member: true,
      num_members: 1,
    });

    const privately = await client.conversations.create({ name: 'inc-private_1', is_private: true });
    expect(privately.channel).toMatchObject({ is_private: true, is_member: true });
  });

  it('holds names to Slack rules: lowercase letters, numbers, hyphens, underscores, 80 characters', async () => {
    expect(await failure(client.conversations.create({ name: '' }))).toEqual({
      error: 'invalid_name_required',
    });
    expect(await failure(client.conversations.create({ name: 'Inc-Upper' }))).toEqual({
      error: 'invalid_name_specials',
    });
    expect(await failure(client.conversations.create({ name: 'inc 42' }))).toEqual({
      error: 'invalid_name_specials',
    });
    expect(await failure(client.conversations.create({ name: '#inc-42' }))).toEqual({
      error: 'invalid_name_specials',
    });
    expect(await failure(client.conversations.create({ name: 'x'.repeat(81) }))).toEqual({
      error: 'invalid_name_maxlength',
    });
    expect(await failure(client.conversations.create({ name: '--_' }))).toEqual({
      error: 'invalid_name_punctuation',
    });
    const longest = await client.conversations.create({ name: 'i'.repeat(80) });
    expect(longest.channel!.name).toHaveLength(80);
  });

  it('answers name_taken for any channel of that name, archived ones included', async () => {
    await client.conversations.create({ name: 'inc-taken' });
    expect(await failure(client.conversations.create({ name: 'inc-taken' }))).toEqual({
      error: 'name_taken',
    });
    expect(await failure(client.conversations.create({ name: 'incidents' }))).toEqual({
      error: 'name_taken',
    });
    expect(await failure(client.conversations.create({ name: 'inc-2023-legacy' }))).toEqual({
      error: 'name_taken',
    });
  });

  it('answers restricted_action where the workspace does not let the bot create channels', async () => {
    const restricted = await new SimulatedSlack({ restrictChannelCreation: true }).start();
    try {
      expect(await failure(simulatedSlackClient(restricted).conversations.create({ name: 'inc-1' }))).toEqual(
        {
          error: 'restricted_action',
        },
      );
      restricted.restrictChannelCreation(false);
      expect((await simulatedSlackClient(restricted).conversations.create({ name: 'inc-1' })).ok).toBe(true);
    } finally {
      await restricted.stop();
    }
    slack.restrictChannelCreation();
    expect(await failure(client.conversations.create({ name: 'inc-2' }))).toEqual({
      error: 'restricted_action',
    });
    slack.restrictChannelCreation(false);
  });

  it('sets the topic, up to 250 characters, in a channel the bot is in', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-topic' });
    const id = channel!.id!;
    const topic = 'SEV2 · api-gateway latency · IC <@U0APPROVER1> · status: investigating';
    const set = await client.conversations.setTopic({ channel: id, topic });
    expect(set.channel).toMatchObject({ id, topic: { value: topic, creator: SIMULATED_BOT_USER } });
    expect((await client.conversations.info({ channel: id })).channel!.topic!.value).toBe(topic);
    expect(slack.channel(id)!.topic.value).toBe(topic);

    expect((await client.conversations.setTopic({ channel: id, topic: 'é'.repeat(250) })).ok).toBe(true);
    expect(await failure(client.conversations.setTopic({ channel: id, topic: 'x'.repeat(251) }))).toEqual({
      error: 'too_long',
    });
    expect(await failure(client.conversations.setTopic({ channel: 'C0NOWHERE', topic }))).toEqual({
      error: 'channel_not_found',
    });
    expect(await failure(client.conversations.setTopic({ channel: 'C0ELSEWHERE', topic }))).toEqual({
      error: 'not_in_channel',
    });
    expect(await failure(client.conversations.setTopic({ channel: 'C0OLDINC', topic }))).toEqual({
      error: 'is_archived',
    });
    expect(
      await failure(client.apiCall('conversations.setTopic', { channel: id }) as Promise<WebAPICallResult>),
    ).toEqual({ error: 'invalid_arguments', messages: ['[ERROR] missing required field: topic'] });
  });

  it('invites people, and lists the members a page at a time', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-invite' });
    const id = channel!.id!;
    const invited = await client.conversations.invite({ channel: id, users: `${ENGINEER},${APPROVER}` });
    expect(invited.channel).toMatchObject({ id, is_member: true });
    expect(invited.errors).toBeUndefined();
    expect(slack.channel(id)!.members).toEqual([SIMULATED_BOT_USER, ENGINEER, APPROVER]);

    const first = await client.conversations.members({ channel: id, limit: 2 });
    expect(first.members).toEqual([SIMULATED_BOT_USER, ENGINEER]);
    const cursor = first.response_metadata!.next_cursor!;
    expect(cursor).not.toBe('');
    const second = await client.conversations.members({ channel: id, limit: 2, cursor });
    expect(second.members).toEqual([APPROVER]);
    expect(second.response_metadata!.next_cursor).toBe('');
    // The client's own pagination walks the same cursors.
    const all: string[] = [];
    for await (const page of client.paginate('conversations.members', { channel: id, limit: 1 })) {
      all.push(...((page as { members?: string[] }).members ?? []));
    }
    expect(all).toEqual([SIMULATED_BOT_USER, ENGINEER, APPROVER]);

    expect(await failure(client.conversations.members({ channel: id, cursor: 'bm9wZQ==' }))).toEqual({
      error: 'invalid_cursor',
    });
    expect(await failure(client.conversations.members({ channel: id, limit: 0 }))).toEqual({
      error: 'invalid_limit',
    });
    expect(await failure(client.conversations.members({ channel: 'C0NOWHERE' }))).toEqual({
      error: 'channel_not_found',
    });
  });

  it('refuses an invite as Slack does: per user, and for the channel as a whole', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-refusals' });
    const id = channel!.id!;
    await client.conversations.invite({ channel: id, users: ENGINEER });

    expect(await failure(client.conversations.invite({ channel: id, users: ENGINEER }))).toEqual({
      error: 'already_in_channel',
      errors: [{ user: ENGINEER, ok: false, error: 'already_in_channel' }],
    });
    expect(await failure(client.conversations.invite({ channel: id, users: 'U0NOBODY' }))).toEqual({
      error: 'user_not_found',
      errors: [{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }],
    });
    expect(await failure(client.conversations.invite({ channel: id, users: SIMULATED_BOT_USER }))).toEqual({
      error: 'cant_invite_self',
      errors: [{ user: SIMULATED_BOT_USER, ok: false, error: 'cant_invite_self' }],
    });
    expect(await failure(client.conversations.invite({ channel: id, users: '' }))).toEqual({
      error: 'no_user',
    });
    const crowd = Array.from({ length: 1001 }, (_, i) => `U${String(i).padStart(10, '0')}`).join(',');
    expect(await failure(client.conversations.invite({ channel: id, users: crowd }))).toEqual({
      error: 'too_many_users',
    });
    expect(await failure(client.conversations.invite({ channel: 'C0ELSEWHERE', users: APPROVER }))).toEqual({
      error: 'not_in_channel',
    });
    expect(await failure(client.conversations.invite({ channel: 'C0OLDINC', users: APPROVER }))).toEqual({
      error: 'is_archived',
    });
    expect(await failure(client.conversations.invite({ channel: 'C0NOWHERE', users: APPROVER }))).toEqual({
      error: 'channel_not_found',
    });
    // A private channel the bot is not in does not exist, for the bot.
    expect(await failure(client.conversations.info({ channel: 'C0SECRET' }))).toEqual({
      error: 'channel_not_found',
    });
    expect(slack.channel(id)!.members).toEqual([SIMULATED_BOT_USER, ENGINEER]);
  });

  it('without force, one bad id invites nobody; with force, the valid ones are invited', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-force' });
    const id = channel!.id!;
    const users = `${APPROVER},U0NOBODY,${SECOND_APPROVER}`;

    expect(await failure(client.conversations.invite({ channel: id, users }))).toEqual({
      error: 'user_not_found',
      errors: [{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }],
    });
    expect(slack.channel(id)!.members).toEqual([SIMULATED_BOT_USER]);

    const forced = await client.conversations.invite({ channel: id, users, force: true });
    expect(forced.ok).toBe(true);
    expect(forced.errors).toEqual([{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }]);
    expect(slack.channel(id)!.members).toEqual([SIMULATED_BOT_USER, APPROVER, SECOND_APPROVER]);

    // Nobody left to invite: force or not, the call fails.
    expect(
      await failure(client.conversations.invite({ channel: id, users: `${APPROVER},U0NOBODY`, force: true })),
    ).toEqual({
      error: 'already_in_channel',
      errors: [
        { user: APPROVER, ok: false, error: 'already_in_channel' },
        { user: 'U0NOBODY', ok: false, error: 'user_not_found' },
      ],
    });
  });

  it('archives a channel: no more posts, topics or invites there', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-resolved' });
    const id = channel!.id!;
    await client.chat.postMessage({ channel: id, text: 'Resolved.' });
    expect((await client.conversations.archive({ channel: id })).ok).toBe(true);
    expect((await client.conversations.info({ channel: id })).channel!.is_archived).toBe(true);
    expect(await failure(client.chat.postMessage({ channel: id, text: 'late' }))).toEqual({
      error: 'is_archived',
    });
    expect(await failure(client.conversations.archive({ channel: id }))).toEqual({
      error: 'already_archived',
    });
    expect(await failure(client.conversations.archive({ channel: 'C0ELSEWHERE' }))).toEqual({
      error: 'not_in_channel',
    });
    expect(await failure(client.conversations.archive({ channel: 'C0NOWHERE' }))).toEqual({
      error: 'channel_not_found',
    });
    expect(slack.messages.filter((m) => m.channel === id).map((m) => m.text)).toEqual(['Resolved.']);
    // A channel the simulated Slack was never told of still takes posts, as before.
    expect((await client.chat.postMessage({ channel: 'C0UNSEEDED', text: 'hi' })).ok).toBe(true);
  });
});

describe('pins, reactions and what people write', () => {
  let slack: SimulatedSlack;
  let client: WebClient;
  let channel: string;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    client = simulatedSlackClient(slack);
    const created = await client.conversations.create({ name: 'inc-pins' });
    channel = created.channel!.id!;
    await client.conversations.invite({ channel, users: `${ENGINEER},${APPROVER}` });
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('pins the summary, lists it with the message, and unpins it', async () => {
    const summary = await client.chat.postMessage({ channel, text: '*Incident summary* — investigating' });
    const ts = summary.ts!;
    expect((await client.pins.add({ channel, timestamp: ts })).ok).toBe(true);
    expect(await failure(client.pins.add({ channel, timestamp: ts }))).toEqual({ error: 'already_pinned' });
    expect(slack.pins(channel)).toEqual([
      { channel, ts, created: expect.any(Number), createdBy: SIMULATED_BOT_USER },
    ]);

    // The bot keeps the pinned summary current: the pin follows the edit.
    await client.chat.update({ channel, ts, text: '*Incident summary* — mitigated' });
    const listed = await client.pins.list({ channel });
    expect(listed.items).toEqual([
      {
        type: 'message',
        channel,
        created: expect.any(Number),
        created_by: SIMULATED_BOT_USER,
        message: expect.objectContaining({
          ts,
          text: '*Incident summary* — mitigated',
          user: SIMULATED_BOT_USER,
          pinned_to: [channel],
          permalink: `${slack.origin}/archives/${channel}/p${ts.replace('.', '')}`,
        }),
      },
    ]);

    expect((await client.pins.remove({ channel, timestamp: ts })).ok).toBe(true);
    expect(await failure(client.pins.remove({ channel, timestamp: ts }))).toEqual({ error: 'not_pinned' });
    expect((await client.pins.list({ channel })).items).toEqual([]);
  });

  it('refuses pins without an item, of a message that is not there, or in no channel', async () => {
    const ephemeral = await client.chat.postEphemeral({ channel, user: ENGINEER, text: 'only you' });
    expect(await failure(client.apiCall('pins.add', { channel }) as Promise<WebAPICallResult>)).toEqual({
      error: 'no_item_specified',
    });
    expect(await failure(client.pins.add({ channel, timestamp: '1700009999.000001' }))).toEqual({
      error: 'message_not_found',
    });
    // Ephemeral messages are not kept by Slack: nothing to pin.
    expect(await failure(client.pins.add({ channel, timestamp: ephemeral.message_ts! }))).toEqual({
      error: 'message_not_found',
    });
    expect(await failure(client.pins.add({ channel, timestamp: 'yesterday' }))).toEqual({
      error: 'bad_timestamp',
    });
    expect(await failure(client.pins.add({ channel: 'C0NOWHERE', timestamp: '1700000001.000001' }))).toEqual({
      error: 'channel_not_found',
    });
    expect(await failure(client.pins.remove({ channel, timestamp: '1700009999.000001' }))).toEqual({
      error: 'message_not_found',
    });
  });

  it('adds and reads reactions, the bot’s and people’s, and records people’s as events', async () => {
    const { message } = slack.say(ENGINEER, channel, 'Rolled back api-gateway to v1.5.0');
    await client.reactions.add({ channel, timestamp: message.ts, name: 'eyes' });
    expect(await failure(client.reactions.add({ channel, timestamp: message.ts, name: 'eyes' }))).toEqual({
      error: 'already_reacted',
    });

    const added = slack.react(APPROVER, channel, message.ts, 'pushpin');
    expect(added.event).toEqual({
      type: 'reaction_added',
      user: APPROVER,
      reaction: 'pushpin',
      item: { type: 'message', channel, ts: message.ts },
      item_user: ENGINEER,
      event_ts: expect.stringMatching(/^\d+\.\d{6}$/),
    });
    expect(added.event_id).toMatch(/^Ev[0-9A-Z]{10}$/);
    expect(slack.events).toContain(added);
    slack.react(ENGINEER, channel, message.ts, 'pushpin');

    const got = await client.reactions.get({ channel, timestamp: message.ts });
    expect(got).toMatchObject({ ok: true, type: 'message', channel });
    expect(got.message).toMatchObject({
      text: 'Rolled back api-gateway to v1.5.0',
      user: ENGINEER,
      reactions: [
        { name: 'eyes', users: [SIMULATED_BOT_USER], count: 1 },
        { name: 'pushpin', users: [APPROVER, ENGINEER], count: 2 },
      ],
    });

    const removed = slack.unreact(APPROVER, channel, message.ts, 'pushpin');
    expect(removed.event).toMatchObject({ type: 'reaction_removed', user: APPROVER, reaction: 'pushpin' });
    expect(slack.events.map((e) => e.event.type)).toEqual([
      'message',
      'reaction_added',
      'reaction_added',
      'reaction_removed',
    ]);
    expect(() => slack.react(APPROVER, channel, '1700009999.000001', 'pushpin')).toThrow(/message_not_found/);
    expect(() => slack.react(SIMULATED_BOT_USER, channel, message.ts, 'pushpin')).toThrow(/not a person/);
    expect(() => slack.say(SECOND_APPROVER, channel, 'not invited')).toThrow(/not_in_channel/);
  });

  it('refuses reactions as Slack does', async () => {
    const { ts } = await client.chat.postMessage({ channel, text: 'Timeline' });
    expect(await failure(client.reactions.add({ channel, timestamp: ts!, name: ':pushpin:' }))).toEqual({
      error: 'invalid_name',
    });
    expect(
      await failure(client.reactions.add({ channel, timestamp: '1700009999.000001', name: 'x' })),
    ).toEqual({
      error: 'message_not_found',
    });
    expect(
      await failure(client.apiCall('reactions.add', { channel, name: 'eyes' }) as Promise<WebAPICallResult>),
    ).toEqual({ error: 'no_item_specified' });
    expect(await failure(client.apiCall('reactions.get', { channel }) as Promise<WebAPICallResult>)).toEqual({
      error: 'no_item_specified',
    });
    expect(await failure(client.reactions.get({ channel, timestamp: '1700009999.000001' }))).toEqual({
      error: 'message_not_found',
    });

    const { channel: archived } = await client.conversations.create({ name: 'inc-archived-reactions' });
    const { ts: last } = await client.chat.postMessage({ channel: archived!.id!, text: 'last words' });
    await client.conversations.archive({ channel: archived!.id! });
    expect(
      await failure(client.reactions.add({ channel: archived!.id!, timestamp: last!, name: 'x' })),
    ).toEqual({
      error: 'is_archived',
    });
  });

  it('reads a reacted message back through history, replies and its permalink', async () => {
    const { ts: parent } = await client.chat.postMessage({ channel, text: 'Status update 1' });
    const { message: reply } = slack.say(APPROVER, channel, 'Error rate back to 0.1%', parent);

    const history = await client.conversations.history({
      channel,
      latest: parent,
      inclusive: true,
      limit: 1,
    });
    expect(history.messages!.map((m) => m.text)).toEqual(['Status update 1']);
    expect(history.has_more).toBe(true);

    const thread = await client.conversations.replies({ channel, ts: reply.ts });
    expect(thread.messages!.map((m) => [m.user, m.text])).toEqual([
      [SIMULATED_BOT_USER, 'Status update 1'],
      [APPROVER, 'Error rate back to 0.1%'],
    ]);
    const link = await client.chat.getPermalink({ channel, message_ts: reply.ts });
    expect(link.permalink).toBe(
      `${slack.origin}/archives/${channel}/p${reply.ts.replace('.', '')}?thread_ts=${parent}&cid=${channel}`,
    );
    expect(await failure(client.conversations.replies({ channel, ts: '1700009999.000001' }))).toEqual({
      error: 'thread_not_found',
    });
  });
});

describe('people by e-mail: users.lookupByEmail', () => {
  let slack: SimulatedSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await new SimulatedSlack({
      users: [
        { id: 'U0ONCALL', name: 'oncall-olu', realName: 'Olu Adeyemi', email: 'olu.adeyemi@azora.example' },
      ],
    }).start();
    client = simulatedSlackClient(slack);
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('finds the sandbox’s people by the addresses PagerDuty knows them by, keeping their ids', async () => {
    for (const person of SANDBOX_USERS) {
      const found = await client.users.lookupByEmail({ email: person.email });
      expect(found.user).toMatchObject({
        id: person.id,
        name: person.handle,
        real_name: person.name,
        is_bot: false,
        profile: { email: person.email, real_name: person.name },
      });
    }
    expect(SANDBOX_USERS.find((u) => u.id === APPROVER)!.email).toBe('amara.okafor@azora.example');
    // Addresses compare without regard to case.
    expect((await client.users.lookupByEmail({ email: 'Jonas.Weber@Azora.Example' })).user!.id).toBe(
      SECOND_APPROVER,
    );
  });

  it('finds people a test adds, and answers users_not_found for anyone else', async () => {
    expect((await client.users.lookupByEmail({ email: 'olu.adeyemi@azora.example' })).user!.id).toBe(
      'U0ONCALL',
    );
    const added = slack.addUser({
      name: 'nadia',
      realName: 'Nadia Haddad',
      email: 'nadia.haddad@azora.example',
    });
    expect(added.id).toMatch(/^U[0-9A-Z]{10}$/);
    expect((await client.users.lookupByEmail({ email: 'nadia.haddad@azora.example' })).user!.id).toBe(
      added.id,
    );
    expect((await client.users.info({ user: added.id })).user!.profile!.email).toBe(
      'nadia.haddad@azora.example',
    );
    expect(await failure(client.users.lookupByEmail({ email: 'nobody@azora.example' }))).toEqual({
      error: 'users_not_found',
    });
    expect(() => slack.addUser({ name: 'again', email: 'NADIA.haddad@azora.example' })).toThrow(/already/);

    // Whom lookupByEmail finds, conversations.invite knows.
    const { channel } = await client.conversations.create({ name: 'inc-oncall' });
    await client.conversations.invite({ channel: channel!.id!, users: `U0ONCALL,${added.id}` });
    expect(slack.channel(channel!.id!)!.members).toEqual([SIMULATED_BOT_USER, 'U0ONCALL', added.id]);
  });
});

describe('the postmortem file: files.getUploadURLExternal, the upload, files.completeUploadExternal', () => {
  let slack: SimulatedSlack;
  let client: WebClient;
  let channel: string;
  const postmortem =
    '# Postmortem: api-gateway latency\n\n## Timeline\n\n- 10:02 paged\n- 10:14 rolled back 🚑\n';

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    client = simulatedSlackClient(slack);
    const created = await client.conversations.create({ name: 'inc-postmortem' });
    channel = created.channel!.id!;
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('takes WebClient.filesUploadV2 into a thread, and keeps the file for the test to read', async () => {
    const { ts: thread } = await client.chat.postMessage({ channel, text: 'Incident resolved' });
    const uploaded = await client.filesUploadV2({
      channel_id: channel,
      thread_ts: thread!,
      initial_comment: 'The postmortem draft',
      filename: 'postmortem-inc-42.md',
      title: 'Postmortem INC-42',
      content: postmortem,
    });
    expect(uploaded.ok).toBe(true);
    const completion = (
      uploaded as unknown as { files: Array<{ files: Array<{ id: string; title: string }> }> }
    ).files;
    const id = completion[0]!.files[0]!.id;
    expect(completion[0]!.files).toEqual([{ id, title: 'Postmortem INC-42' }]);

    const file = slack.file(id)!;
    expect(file).toMatchObject({
      name: 'postmortem-inc-42.md',
      title: 'Postmortem INC-42',
      state: 'complete',
      channel,
      threadTs: thread,
      initialComment: 'The postmortem draft',
      length: Buffer.byteLength(postmortem),
    });
    expect(file.bytes!.toString('utf8')).toBe(postmortem);

    // Shared as a message in the thread, carrying the file.
    const [share] = slack.thread(channel, thread!).filter((m) => m.files);
    expect(share).toMatchObject({ threadTs: thread, text: 'The postmortem draft', user: SIMULATED_BOT_USER });
    expect(share!.files).toEqual([
      expect.objectContaining({
        id,
        name: 'postmortem-inc-42.md',
        title: 'Postmortem INC-42',
        filetype: 'markdown',
      }),
    ]);
    expect(file.shares).toEqual([{ channel, ts: share!.ts, threadTs: thread }]);

    // The WebClient's three steps, as the simulated Slack recorded them.
    expect(
      slack.calls.map((c) => c.method).filter((m) => m.startsWith('files.') || m === 'upload_url'),
    ).toEqual(['files.getUploadURLExternal', 'upload_url', 'files.completeUploadExternal']);
    // The client sends the bytes as a form, the file in its `body` field.
    expect(slack.callsOf('upload_url')[0]!.args.contentType).toMatch(/^multipart\/form-data; boundary=/);

    // url_private serves the bytes to the bot's token, and to nobody else.
    const url = String(share!.files![0]!.url_private);
    const download = await fetch(url, { headers: { authorization: `Bearer ${slack.botToken}` } });
    expect(await download.text()).toBe(postmortem);
    expect((await fetch(url)).status).toBe(404);
  });

  it('takes a raw POST of the bytes, as curl --data-binary sends them, and a private upload', async () => {
    const bytes = Buffer.from('timeline,entry\n10:02,paged\n');
    const ticket = await client.files.getUploadURLExternal({
      filename: 'timeline.csv',
      length: bytes.length,
    });
    expect(ticket.upload_url).toMatch(new RegExp(`^${slack.origin}/upload/v1/[0-9a-f]+$`));
    expect(ticket.file_id).toMatch(/^F[0-9A-Z]{10}$/);
    const posted = await fetch(ticket.upload_url!, { method: 'POST', body: bytes });
    expect([posted.status, await posted.text()]).toEqual([200, `OK - ${bytes.length}`]);
    const done = await client.files.completeUploadExternal({ files: [{ id: ticket.file_id! }] });
    expect(done.files).toEqual([{ id: ticket.file_id, title: 'timeline.csv' }]);
    const file = slack.file(ticket.file_id!)!;
    expect(file).toMatchObject({ state: 'complete', shares: [] });
    expect(file.channel).toBeUndefined();
    expect(file.bytes).toEqual(bytes);
    // Completed: the upload URL is spent.
    expect((await fetch(ticket.upload_url!, { method: 'POST', body: bytes })).status).toBe(404);
  });

  it('refuses what Slack refuses', async () => {
    expect(await failure(client.files.getUploadURLExternal({ filename: 'empty.md', length: 0 }))).toEqual({
      error: 'missing_argument',
    });
    expect(
      await failure(client.apiCall('files.getUploadURLExternal', { length: 3 }) as Promise<WebAPICallResult>),
    ).toEqual({ error: 'invalid_arguments', messages: ['[ERROR] missing required field: filename'] });

    // Completing a file whose bytes never came.
    const never = await client.files.getUploadURLExternal({ filename: 'never.md', length: 3 });
    expect(
      await failure(
        client.files.completeUploadExternal({ files: [{ id: never.file_id! }], channel_id: channel }),
      ),
    ).toEqual({ error: 'file_not_found' });
    expect(await failure(client.files.completeUploadExternal({ files: [{ id: 'F0NOTAFILE' }] }))).toEqual({
      error: 'file_not_found',
    });

    const archived = slack.addChannel({ name: 'inc-old', archived: true });
    const outsider = slack.addChannel({ name: 'inc-without-bot', members: [ENGINEER] });
    for (const [target, error] of [
      [archived.id, 'is_archived'],
      [outsider.id, 'not_in_channel'],
    ] as const) {
      await expect(
        client.filesUploadV2({ channel_id: target, filename: 'pm.md', content: 'x' }),
      ).rejects.toMatchObject({ code: ErrorCode.PlatformError, data: { error } });
    }
    expect(slack.messages.filter((m) => m.channel === archived.id || m.channel === outsider.id)).toEqual([]);

    // The upload URL failing fails the upload.
    slack.failNext('upload_url', 500);
    await expect(
      client.filesUploadV2({ channel_id: channel, filename: 'pm.md', content: 'x' }),
    ).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
  });
});

describe('a person’s reaction delivered to a Bolt app as an Events API event', () => {
  let slack: SimulatedSlack;
  let app: App;
  let url: string;
  const secret = 'events-test-secret';
  const received: Array<SlackEventMiddlewareArgs<'reaction_added'>['body']> = [];
  let arrived: (() => void) | undefined;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    const logger = createLogger('silent');
    const receiver = new HTTPReceiver({
      signingSecret: secret,
      endpoints: ['/slack/events'],
      logger: quiet,
      logLevel: LogLevel.ERROR,
    });
    app = new App({
      token: slack.botToken,
      botId: 'B0AZORABOT',
      botUserId: SIMULATED_BOT_USER,
      receiver,
      logger: quiet,
      clientOptions: { slackApiUrl: slack.apiUrl, logger: quiet, retryConfig: { retries: 0 } },
    });
    // The bot's own gate in front, as in production: it screens every signed body first.
    guardSlackEndpoint(receiver, app, {
      signingSecret: secret,
      endpoints: ['/slack/events'],
      bodyLimit: SLACK_BODY_LIMIT,
      logger,
      metrics: createMetrics(),
    });
    app.event('reaction_added', async ({ body }) => {
      received.push(body);
      arrived?.();
    });
    const server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.stop();
    await slack?.stop();
  });

  it('signs an event_callback with the recorded event, its id and time, and Bolt routes it', async () => {
    const client = simulatedSlackClient(slack);
    const { channel } = await client.conversations.create({ name: 'inc-events' });
    const { ts } = await client.chat.postMessage({ channel: channel!.id!, text: '10:14 rolled back' });
    const recorded: SimulatedEvent = slack.react(ENGINEER, channel!.id!, ts!, 'pushpin');

    const delivered = new Promise<void>((resolve) => (arrived = resolve));
    const post = await sendEvent(url, secret, recorded);
    expect(post.status).toBe(200);
    await delivered;

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      type: 'event_callback',
      team_id: 'T0AZORA',
      api_app_id: 'A0AZORA',
      event_id: recorded.event_id,
      event_time: recorded.event_time,
      authorizations: [{ team_id: 'T0AZORA', user_id: SIMULATED_BOT_USER, is_bot: true }],
      event: {
        type: 'reaction_added',
        user: ENGINEER,
        reaction: 'pushpin',
        item: { type: 'message', channel: channel!.id!, ts },
        item_user: SIMULATED_BOT_USER,
      },
    });
  });

  it('sends a bare event too, and a badly signed one is refused', async () => {
    const event = {
      type: 'reaction_added',
      user: APPROVER,
      reaction: 'white_check_mark',
      item: { type: 'message', channel: 'C0INCIDENTS', ts: '1700000001.000001' },
      item_user: SIMULATED_BOT_USER,
      event_ts: '1700000100.000100',
    };
    const delivered = new Promise<void>((resolve) => (arrived = resolve));
    const post = await sendEvent(url, secret, event, {
      eventId: 'Ev0REDELIVER',
      retry: { num: 1, reason: 'http_timeout' },
    });
    expect(post.status).toBe(200);
    await delivered;
    expect(received.at(-1)).toMatchObject({ event_id: 'Ev0REDELIVER', event });

    const count = received.length;
    expect((await sendEvent(url, 'not-the-secret', event)).status).toBe(401);
    expect(received).toHaveLength(count);
  });
});

describe('rate limits: opt-in per method, answered with 429 and Retry-After', () => {
  let slack: SimulatedSlack;

  beforeAll(async () => {
    slack = await new SimulatedSlack({ rateLimits: { 'conversations.setTopic': 'tier' } }).start();
  });

  afterAll(async () => {
    await slack.stop();
  });

  it('knows each new method’s tier from Slack’s method reference', () => {
    expect(
      Object.fromEntries(
        [
          'conversations.create',
          'conversations.setTopic',
          'conversations.archive',
          'conversations.invite',
          'conversations.info',
          'conversations.members',
          'pins.add',
          'pins.list',
          'pins.remove',
          'reactions.add',
          'reactions.get',
          'users.lookupByEmail',
          'files.getUploadURLExternal',
          'files.completeUploadExternal',
          'chat.postMessage',
        ].map((m) => [m, METHOD_TIERS[m]]),
      ),
    ).toEqual({
      'conversations.create': 2,
      'conversations.setTopic': 2,
      'conversations.archive': 2,
      'conversations.invite': 3,
      'conversations.info': 3,
      'conversations.members': 4,
      'pins.add': 2,
      'pins.list': 2,
      'pins.remove': 2,
      'reactions.add': 3,
      'reactions.get': 3,
      'users.lookupByEmail': 3,
      'files.getUploadURLExternal': 4,
      'files.completeUploadExternal': 4,
      'chat.postMessage': 'special',
    });
    expect(tierLimit('conversations.create')).toEqual({ calls: 20, windowMs: 60_000 });
    expect(tierLimit('conversations.invite')).toEqual({ calls: 50, windowMs: 60_000 });
    expect(tierLimit('files.completeUploadExternal')).toEqual({ calls: 100, windowMs: 60_000 });
    expect(tierLimit('chat.postMessage')).toBeUndefined();
    expect(() => slack.limitRate('chat.postMessage', 'tier')).toThrow(/no documented tier/);
  });

  it('holds a method to its tier: the 21st setTopic in a minute gets 429 and the seconds to wait', async () => {
    const client = simulatedSlackClient(slack, { rejectRateLimited: true });
    const { channel } = await client.conversations.create({ name: 'inc-busy' });
    for (let i = 1; i <= 20; i += 1) {
      await client.conversations.setTopic({ channel: channel!.id!, topic: `update ${i}` });
    }
    await expect(
      client.conversations.setTopic({ channel: channel!.id!, topic: 'update 21' }),
    ).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: expect.any(Number),
    });
    const refused = slack.calls.filter((c) => c.method === 'conversations.setTopic' && c.status === 429);
    expect(refused).toHaveLength(1);
    expect(slack.channel(channel!.id!)!.topic.value).toBe('update 20');
    // Other methods are not limited unless asked.
    expect((await client.conversations.info({ channel: channel!.id! })).ok).toBe(true);
  });

  it('takes a limit of the test’s own, and the Web API client waits the Retry-After it answers', async () => {
    slack.limitRate('conversations.create', { calls: 2, windowMs: 60_000 });
    const rejecting = simulatedSlackClient(slack, { rejectRateLimited: true });
    await rejecting.conversations.create({ name: 'inc-a' });
    await rejecting.conversations.create({ name: 'inc-b' });
    await expect(rejecting.conversations.create({ name: 'inc-c' })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 60,
    });
    slack.limitRate('conversations.create', undefined);
    expect((await rejecting.conversations.create({ name: 'inc-c' })).ok).toBe(true);

    // One invite a second: the second call is refused, the client waits Retry-After, and retries.
    slack.limitRate('conversations.invite', { calls: 1, windowMs: 1_000 });
    const { channel } = await rejecting.conversations.create({ name: 'inc-paced' });
    const pacing = simulatedSlackClient(slack, { retries: 3 });
    await pacing.conversations.invite({ channel: channel!.id!, users: ENGINEER });
    await pacing.conversations.invite({ channel: channel!.id!, users: APPROVER });
    const invites = slack.calls.filter((c) => c.method === 'conversations.invite');
    const statuses = invites.map((c) => c.status);
    // A timer may fire a hair early: then one more 429, and one more wait.
    expect(statuses[0]).toBe(200);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.slice(1, -1)).toEqual(expect.arrayContaining([429]));
    expect(statuses.slice(1, -1).every((s) => s === 429)).toBe(true);
    expect(invites.at(-1)!.at - invites[0]!.at).toBeGreaterThanOrEqual(1_000);
    expect(slack.channel(channel!.id!)!.members).toEqual([SIMULATED_BOT_USER, ENGINEER, APPROVER]);
  });
});
