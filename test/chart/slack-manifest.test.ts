import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readChartFile, readChartYaml, REPO } from './chart';

/**
 * The Slack app manifest asks for the scopes of the Web API methods the bot calls and no
 * more. The bot's code is scanned for Web API calls, so a new method (and the scope it may
 * need) cannot slip in without this table, and the manifest, being looked at again.
 */

interface Manifest {
  display_information: Record<string, string>;
  features: {
    slash_commands: { command: string; url?: string; usage_hint?: string; should_escape?: boolean }[];
    bot_user: { display_name: string };
  };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: {
    interactivity: { is_enabled: boolean; request_url?: string };
    event_subscriptions?: { request_url?: string; bot_events?: string[]; user_events?: string[] };
    socket_mode_enabled: boolean;
  };
}

/** Each Web API method the bot calls, and the bot scope it needs (api.slack.com/methods). */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'usergroups.users.list': ['usergroups:read'],
  'auth.test': [],
  // The restore confirmation modal: no scope, a trigger_id from the click; its submission
  // comes back as an interaction (settings.interactivity).
  'views.open': [],
  // Incidents: a channel of its own, its topic, the people in it, the pinned summary and the
  // postmortem file (filesUploadV2: files.getUploadURLExternal and files.completeUploadExternal).
  'conversations.create': ['channels:manage'],
  'conversations.setTopic': ['channels:manage'],
  'conversations.archive': ['channels:manage'],
  'conversations.invite': ['channels:manage'],
  // Whether an incident's channel was archived, before a command changes anything.
  'conversations.info': ['channels:read'],
  'pins.add': ['pins:write'],
  // Who is on call, from PagerDuty by e-mail, invited into the incident channel.
  'users.lookupByEmail': ['users:read', 'users:read.email'],
  filesUploadV2: ['files:write'],
  // A :pushpin: reaction in an incident channel: the pinned message read (a thread reply
  // from its thread) and linked from the timeline (chat.getPermalink needs no scope).
  'conversations.history': ['channels:history'],
  'conversations.replies': ['channels:history'],
  'chat.getPermalink': [],
};

/** Each Events API event the app subscribes to, and the bot scope Slack requires for it. */
const EVENT_SCOPES: Record<string, string[]> = {
  // :pushpin: on a message in an incident channel (handlers/reactions.ts).
  reaction_added: ['reactions:read'],
};

/**
 * Scopes that no single call implies: `commands` for /azora, and `chat:write.public`, so
 * a plan can be posted in the (often new) public channel a command was typed in without
 * inviting the bot first.
 */
const BASE_SCOPES = ['commands', 'chat:write.public'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return entry === 'sandbox' ? [] : sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

const manifest = () => readChartYaml<Manifest>('files', 'slack-app-manifest.yaml');
const socketManifest = () => readChartYaml<Manifest>('files', 'slack-app-manifest.socket-mode.yaml');

describe('the Slack app manifest (files/slack-app-manifest.yaml)', () => {
  it('knows every Web API method the bot calls (the simulated workspace aside)', () => {
    // Kubernetes client calls (`apps.readNamespacedDeployment(`) look alike: no `apps.` family here.
    const files = ['src', 'handlers', 'jobs'].flatMap((d) => sourceFiles(path.join(REPO, d)));
    const called = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        // A chain prettier broke over lines (`conversations\n  .invite(`) is one call too.
        /\.((?:admin|api|auth|bookmarks|bots|calls|chat|conversations|dnd|emoji|files|pins|reactions|reminders|search|stars|team|usergroups|users|views|workflows)(?:\s*\.[a-zA-Z]+)+|filesUploadV2)\(/g,
      )) {
        called.add(m[1]!.replace(/\s+/g, ''));
      }
    }
    expect(called.size).toBeGreaterThan(0);
    expect([...called].filter((method) => !(method in METHOD_SCOPES))).toEqual([]);
    expect([...called].sort()).toEqual(Object.keys(METHOD_SCOPES).sort());
  });

  it('subscribes to exactly the events the bot has a listener for', () => {
    const files = ['src', 'handlers'].flatMap((d) => sourceFiles(path.join(REPO, d)));
    const listened = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bapp\s*\.event(?:<[^>]*>)?\(\s*'([a-z_]+)'/g))
        listened.add(m[1]!);
    }
    expect([...listened].sort()).toEqual(Object.keys(EVENT_SCOPES).sort());
    expect([...(manifest().settings.event_subscriptions?.bot_events ?? [])].sort()).toEqual(
      Object.keys(EVENT_SCOPES).sort(),
    );
    expect(manifest().settings.event_subscriptions?.user_events).toBeUndefined();
  });

  it('asks for exactly the scopes those methods and events need, the slash command and posting in public channels', () => {
    const needed = new Set([
      ...BASE_SCOPES,
      ...Object.values(METHOD_SCOPES).flat(),
      ...Object.values(EVENT_SCOPES).flat(),
    ]);
    expect([...manifest().oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
    expect(manifest().oauth_config.scopes.user).toBeUndefined();
  });

  it('sends /azora, button clicks and exactly the events it listens to (reaction_added) to the bot over HTTP', () => {
    const m = manifest();
    expect(m.features.slash_commands).toEqual([
      expect.objectContaining({
        command: '/azora',
        url: 'https://chatops.azora.world/slack/events',
        usage_hint: expect.stringContaining('staging|production'),
        should_escape: true,
      }),
    ]);
    expect(m.settings.interactivity).toEqual({
      is_enabled: true,
      request_url: 'https://chatops.azora.world/slack/events',
    });
    expect(m.settings.event_subscriptions).toEqual({
      request_url: 'https://chatops.azora.world/slack/events',
      bot_events: ['reaction_added'],
    });
    expect(Object.keys(EVENT_SCOPES)).toEqual(['reaction_added']);
    expect(m.settings.socket_mode_enabled).toBe(false);
    // The same host the chart's Ingress serves.
    expect(readChartYaml<{ ingress: { host: string } }>('values.yaml').ingress.host).toBe(
      'chatops.azora.world',
    );
  });

  it('has a Socket Mode variant: the same app, command, scopes and events, Socket Mode on and no request URL', () => {
    const http = manifest();
    const socket = socketManifest();
    expect(socket.display_information).toEqual(http.display_information);
    expect(socket.features.bot_user).toEqual(http.features.bot_user);
    expect(socket.oauth_config).toEqual(http.oauth_config);
    const { url: _url, ...command } = http.features.slash_commands[0]!;
    expect(socket.features.slash_commands).toEqual([command]);
    expect(socket.settings).toEqual({
      ...http.settings,
      interactivity: { is_enabled: true },
      event_subscriptions: { bot_events: ['reaction_added'] },
      socket_mode_enabled: true,
    });
    // The app-level token a manifest cannot create: its scope is named where to generate it.
    expect(readChartFile('files', 'slack-app-manifest.socket-mode.yaml')).toMatch(
      /App-Level Tokens[\s\S]*connections:write[\s\S]*SLACK_APP_TOKEN/,
    );
  });
});
