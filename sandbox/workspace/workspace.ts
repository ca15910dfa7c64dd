import type { CustomRoute } from '@slack/bolt';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { BodyTooLarge, readBody } from '../../src/kernel/http/body';
import type { Policy } from '../../src/config/policy';
import type { Logger } from '../../src/kernel/log';
import {
  alertNotification,
  pushedAlert,
  sandboxAlerts,
  webhookNotification,
  type AlertEpisode,
  type PushedAlert,
  type SandboxAlert,
} from '../alerts';
import type { SandboxAlertmanager } from '../alertmanager';
import { pushAlerts, silencesHolding } from '../alertmanager/push';
import type { ClusterAlert } from '../cluster';
import { ruleExpression, type SandboxPrometheus } from '../prometheus';
import {
  SIMULATED_BOT_USER,
  type SimulatedChannel,
  type SimulatedMessage,
  type SimulatedSlack,
} from '../slack-api';
import {
  blockActionBody,
  eventCallbackBody,
  signedEventHeaders,
  signedHeaders,
  escapedCommandText,
  slashCommandBody,
  SANDBOX_TEAM,
  viewClosedBody,
  viewSubmissionBody,
  type ClickedButton,
} from '../slack-requests';
import type { SimulatedEvent } from '../slack-events';
import type { SimulatedView } from '../slack-views';
import { workspaceAssetsDir } from '../paths';
import { SANDBOX_USERS, type SandboxUser } from '../users';
import { ASSET_PATH, runbookPage, workspacePage } from './page';
import type { AlertDelivery, AlertState, Snapshot, WireChannel, WireMessage, WireView } from './wire';

export interface WorkspaceOptions {
  slack: SimulatedSlack;
  signingSecret: string;
  alertmanagerToken: string;
  policy: Policy;
  logger: Logger;
  /** Where the page's script and styles are; the sandbox's public/ folder by default. */
  assetsDir?: string;
  /** Between attempts to deliver one of the cluster's alerts (default 2 s). */
  alertRetryMs?: number;
  /**
   * The sandbox's Alertmanager: the menu's alerts are pushed to it, and it notifies the bot
   * unless a silence holds them back. Without one they go straight to the bot's webhook.
   */
  alertmanager?: Pick<SandboxAlertmanager, 'url' | 'deliverTo'>;
  /**
   * The sandbox's Prometheus: the alerts' generatorURLs point at it, and a menu alert drives
   * its rule's series there, so the alert's graph shows why it fired.
   */
  prometheus?: Pick<SandboxPrometheus, 'url' | 'record'>;
}

type Channel = WireChannel;

/** The page's files, served as they are, with their content types. */
const ASSETS: Record<string, string> = {
  'client.js': 'text/javascript; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
};

const TOPICS: Record<string, string> = {
  ops: 'Deploys, scaling, switches and rollbacks. Type /azora help',
  incidents: 'Critical alerts; they page the on-call through PagerDuty',
  alerts: 'Warnings from Alertmanager',
  announcements: 'Maintenance windows and other notices',
};

/** What the page offers under each message: :pushpin: adds an entry to an incident's timeline. */
const REACTIONS = new Set(['pushpin', 'eyes', 'white_check_mark']);
/** Files the page shows inline, by the type the simulated Slack gave them. */
const TEXT_FILE = /^(text\/|application\/json)/;
/** Pictures the page shows as images (SVG, which can carry script, is not one of them). */
const IMAGE_FILE = /^image\/(png|jpeg|gif|webp)$/;

const BODY_LIMIT = 64 * 1024;
const HEARTBEAT_MS = 20_000;
// Slack gives up on a slash command or click after 3 s; so does the simulated workspace, with a margin.
const FORWARD_TIMEOUT_MS = 5_000;
/** Alertmanager retries a webhook that failed; the sandbox does too, a few times. */
const ALERT_ATTEMPTS = 5;
const ALERT_RETRY_MS = 2_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The simulated Slack workspace people use in a browser: it renders what the bot posted
 * to the simulated Slack, and turns typed commands, clicks and fired alerts into the same
 * signed requests and webhooks the bot gets in production, sent to the bot's own port.
 */
export class Workspace {
  /** The policy's channels, in its order: listed first, with the sandbox's topics when Slack has none. */
  private readonly policyChannels: Channel[];
  private readonly users = new Map<string, SandboxUser>(SANDBOX_USERS.map((u) => [u.id, u]));
  private readonly alerts: SandboxAlert[];
  private readonly episodes = new Map<string, AlertEpisode>();
  /** What became of each alert's last firing or resolving from the menu, shown under it. */
  private readonly outcomes = new Map<string, AlertDelivery>();
  private readonly postedAt = new Map<string, number>();
  private readonly streams = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly assetsDir: string;
  private closed = false;
  /** The bot's own web address, once known: where the cluster's alerts go. */
  private botBase: string | undefined;
  private botKnown: () => void = () => undefined;
  private readonly botReady: Promise<void>;
  /** The cluster's alerts, delivered one after the other so that a resolve never overtakes its firing. */
  private deliveries: Promise<void> = Promise.resolve();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private wakeOnClose: () => void = () => undefined;
  private readonly closing = new Promise<void>((resolve) => (this.wakeOnClose = resolve));

  constructor(private readonly options: WorkspaceOptions) {
    this.assetsDir = options.assetsDir ?? workspaceAssetsDir();
    const missing = Object.keys(ASSETS).filter((name) => !existsSync(path.join(this.assetsDir, name)));
    if (missing.length > 0) {
      throw new Error(`the sandbox workspace page needs ${missing.join(' and ')} in ${this.assetsDir}`);
    }
    this.policyChannels = Object.entries(options.policy.channels).map(([name, id]) => ({
      id,
      name,
      topic: TOPICS[name] ?? '',
    }));
    this.alerts = sandboxAlerts(options.policy);
    options.slack.on('message', this.onMessage);
    options.slack.on('view', this.onView);
    options.slack.on('channel', this.onChannel);
    options.slack.on('reaction', this.onMessage);
    options.slack.on('pin', this.onPin);
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.botReady = new Promise((resolve) => (this.botKnown = resolve));
  }

  /** The port the bot listens on (the workspace's own routes are served there too). */
  setBotPort(port: number): void {
    this.botBase = `http://127.0.0.1:${port}`;
    this.botKnown();
  }

  /** The workspace is served on the bot's port: a request to it tells the port, should nobody have. */
  private learnBotPort(req: IncomingMessage): void {
    if (!this.botBase && req.socket.localPort) this.setBotPort(req.socket.localPort);
  }

  /**
   * An alert the simulated cluster raised about itself (a `-bad` version failing under
   * traffic, and its resolution): sent to the bot's real POST /alertmanager as Alertmanager
   * would, in its own group (alertname, namespace, service), retried a few times on failure.
   */
  clusterAlert(alert: ClusterAlert): Promise<void> {
    this.deliveries = this.deliveries.then(() => this.deliverClusterAlert(alert));
    return this.deliveries;
  }

  private async deliverClusterAlert(alert: ClusterAlert): Promise<void> {
    await Promise.race([this.botReady, this.closing]);
    const base = this.botBase;
    if (this.closed || !base) return;
    const sandboxAlert: SandboxAlert = {
      alertname: alert.alertname,
      severity: alert.severity,
      service: alert.service,
      summary: alert.summary,
      description: alert.description,
      expr: ruleExpression(alert.alertname, this.options.policy),
    };
    const episode: AlertEpisode = {
      startsAt: new Date(alert.startsAt).toISOString(),
      ...(alert.endsAt !== undefined ? { endsAt: new Date(alert.endsAt).toISOString() } : {}),
    };
    const origin = base.replace('127.0.0.1', 'localhost');
    const notification = alertNotification(
      sandboxAlert,
      alert.namespace,
      episode,
      `${origin}/sandbox/runbooks/${encodeURIComponent(alert.alertname)}`,
      `${origin}/sandbox`,
      this.options.prometheus?.url ?? `${origin}/sandbox`,
    );
    for (let attempt = 1; attempt <= ALERT_ATTEMPTS && !this.closed; attempt++) {
      try {
        const res = await this.postAlert(base, notification);
        if (res.ok) {
          this.options.logger.info(
            {
              alertname: alert.alertname,
              namespace: alert.namespace,
              service: alert.service,
              status: alert.status,
            },
            'sandbox: the simulated cluster raised an alert',
          );
          return;
        }
        this.options.logger.warn(
          { status: res.status, body: res.text.slice(0, 200), attempt },
          "sandbox: the bot's /alertmanager refused a cluster alert",
        );
      } catch (err) {
        this.options.logger.warn(
          { err: (err as Error).message, attempt },
          "sandbox: the bot's /alertmanager did not take a cluster alert",
        );
      }
      if (attempt < ALERT_ATTEMPTS) await this.pause(this.options.alertRetryMs ?? ALERT_RETRY_MS);
    }
  }

  private async postAlert(
    base: string,
    notification: unknown,
  ): Promise<{ ok: boolean; status: number; text: string }> {
    const res = await fetch(`${base}/alertmanager`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${this.options.alertmanagerToken}`,
      },
      body: JSON.stringify(notification),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    return { ok: res.ok, status: res.status, text: await res.text() };
  }

  /** Waits `ms`, or less when the workspace closes meanwhile. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.retryTimers.add(timer);
    });
    await Promise.race([slept, this.closing]);
    if (timer) {
      clearTimeout(timer);
      this.retryTimers.delete(timer);
    }
  }

  routes(): CustomRoute[] {
    const page = (html: () => string) => (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html());
    };
    return [
      {
        path: '/',
        method: 'GET',
        handler: (_req, res) => {
          res.writeHead(302, { location: '/sandbox' });
          res.end();
        },
      },
      { path: '/sandbox', method: 'GET', handler: page(() => workspacePage()) },
      ...Object.entries(ASSETS).map(([name, contentType]): CustomRoute => ({
        path: `${ASSET_PATH}/${name}`,
        method: 'GET',
        handler: (_req, res) => void this.asset(res, name, contentType),
      })),
      {
        path: '/sandbox/runbooks/:alertname',
        method: 'GET',
        handler: (req, res) => {
          const name = String(req.params?.alertname ?? '');
          const alert = this.alerts.find((a) => a.alertname === name);
          if (!alert) return sendJson(res, 404, { error: `no alert named ${name}` });
          const actions = this.options.policy.alerts.runbooks[name] ?? [];
          return page(() => runbookPage(alert, actions, this.namespace))(req, res);
        },
      },
      { path: '/sandbox/api/events', method: 'GET', handler: (req, res) => this.subscribe(req, res) },
      {
        path: '/sandbox/api/command',
        method: 'POST',
        handler: this.api((req, body) => this.command(req, body)),
      },
      { path: '/sandbox/api/click', method: 'POST', handler: this.api((req, body) => this.click(req, body)) },
      { path: '/sandbox/api/alert', method: 'POST', handler: this.api((req, body) => this.alert(req, body)) },
      { path: '/sandbox/api/view', method: 'POST', handler: this.api((req, body) => this.view(req, body)) },
      { path: '/sandbox/api/react', method: 'POST', handler: this.api((req, body) => this.react(req, body)) },
      { path: '/sandbox/api/say', method: 'POST', handler: this.api(async (_req, body) => this.say(body)) },
      {
        path: '/sandbox/files/:id',
        method: 'GET',
        handler: (req, res) => this.fileContent(String(req.params?.id ?? ''), res),
      },
    ];
  }

  /** Ends every live stream and refuses new ones: the server can then close at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.wakeOnClose();
    this.options.slack.off('message', this.onMessage);
    this.options.slack.off('view', this.onView);
    this.options.slack.off('channel', this.onChannel);
    this.options.slack.off('reaction', this.onMessage);
    this.options.slack.off('pin', this.onPin);
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  private get namespace(): string {
    return this.options.policy.environments.production?.namespace ?? 'azora-production';
  }

  /** Read at each request, so an edited script or style shows on the next reload. */
  private async asset(res: ServerResponse, name: string, contentType: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(path.join(this.assetsDir, name));
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message, name }, 'sandbox asset unreadable');
      return sendJson(res, 404, { error: `no ${name} in ${this.assetsDir}` });
    }
    res.writeHead(200, {
      'content-type': contentType,
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }

  private snapshot(): Snapshot {
    return {
      team: { name: 'Azora', domain: SANDBOX_TEAM.domain },
      users: SANDBOX_USERS,
      bot: { id: SIMULATED_BOT_USER, name: 'Azora ChatOps' },
      userGroups: Object.fromEntries(
        Object.values(this.options.policy.environments)
          .flatMap((e) => e?.approvers ?? [])
          .filter((id) => id.startsWith('S'))
          .map((id) => [id, 'sre-approvers']),
      ),
      channels: this.channels(),
      alerts: this.alertStates(),
      messages: this.options.slack.messages.map((m) => this.wire(m)),
      views: this.options.slack.views.filter((v) => v.state === 'open').map(wireView),
    };
  }

  /** The policy's channels first, then those created since, as the simulated Slack holds them. */
  private channels(): Channel[] {
    const registered = this.options.slack.channels;
    const listed = this.policyChannels.map((c) => {
      const found = registered.find((r) => r.id === c.id);
      return found ? this.wireChannel(found) : c;
    });
    const others = registered
      .filter((r) => !listed.some((c) => c.id === r.id))
      .map((r) => this.wireChannel(r));
    return [...listed, ...others];
  }

  private wireChannel(c: SimulatedChannel): Channel {
    const fallback = this.policyChannels.find((p) => p.id === c.id)?.topic ?? '';
    return {
      id: c.id,
      name: c.name,
      topic: c.topic.value || fallback,
      members: [...c.members],
      isPrivate: c.isPrivate,
      archived: c.archived,
    };
  }

  private alertStates(): AlertState[] {
    return this.alerts.map((a) => {
      const episode = this.episodes.get(a.alertname);
      const outcome = this.outcomes.get(a.alertname);
      return {
        ...a,
        channel: this.channelFor(a),
        firing: Boolean(episode && !episode.endsAt),
        ...(outcome ? { delivery: outcome } : {}),
      };
    });
  }

  private channelFor(alert: SandboxAlert): string {
    const { alerts, channels } = this.options.policy;
    return channels[alerts.channels[alert.severity] ?? alerts.defaultChannel];
  }

  private wire(m: SimulatedMessage): WireMessage {
    const key = `${m.channel}/${m.ts}`;
    let at = this.postedAt.get(key);
    if (at === undefined) {
      at = Date.now();
      this.postedAt.set(key, at);
    }
    return {
      channel: m.channel,
      ts: m.ts,
      ...(m.threadTs ? { threadTs: m.threadTs } : {}),
      text: m.text,
      blocks: m.blocks,
      user: m.user,
      ...(m.visibleTo ? { visibleTo: m.visibleTo } : {}),
      ...(m.edited ? { edited: m.edited } : {}),
      ...(m.reactions ? { reactions: m.reactions.map((r) => ({ ...r, users: [...r.users] })) } : {}),
      ...(m.files ? { files: m.files } : {}),
      ...(this.options.slack.pins(m.channel).some((p) => p.ts === m.ts) ? { pinned: true } : {}),
      postedAt: at,
    };
  }

  private readonly onMessage = (m: SimulatedMessage): void => {
    this.broadcast(event('message', this.wire(m)));
  };

  private readonly onChannel = (c: SimulatedChannel): void => {
    this.broadcast(event('channel', this.wireChannel(c)));
  };

  /** Pinned or unpinned: the message again, with its new mark. */
  private readonly onPin = (channel: string, ts: string): void => {
    const message = this.options.slack.messages.find((m) => m.channel === channel && m.ts === ts);
    if (message) this.onMessage(message);
  };

  /** A modal opened, changed or closed: every page gets it, and shows it to the person it is for. */
  private readonly onView = (view: SimulatedView): void => {
    this.broadcast(event('view', wireView(view)));
  };

  private broadcast(chunk: string): void {
    for (const res of this.streams) res.write(chunk);
  }

  /** Server-Sent Events: a snapshot first, then every new or edited message as it happens. */
  private subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) return sendJson(res, 503, { error: 'the sandbox is stopping' });
    this.learnBotPort(req);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    res.write(event('snapshot', this.snapshot()));
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  private api(handle: (req: IncomingMessage, body: Record<string, unknown>) => Promise<unknown>) {
    return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      this.learnBotPort(req);
      try {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req, BODY_LIMIT)).toString('utf8') || '{}');
        } catch (err) {
          throw new HttpError(
            err instanceof BodyTooLarge ? 413 : 400,
            `bad request: ${(err as Error).message}`,
          );
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new HttpError(400, 'bad request: expected a JSON object');
        sendJson(res, 200, await handle(req, body as Record<string, unknown>));
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500)
          this.options.logger.error({ err: (err as Error).message, url: req.url }, 'sandbox request failed');
        if (!res.headersSent) sendJson(res, status, { ok: false, error: (err as Error).message });
      }
    };
  }

  private user(body: Record<string, unknown>): SandboxUser {
    const user = this.users.get(String(body.user ?? ''));
    if (!user) throw new HttpError(400, `unknown user '${String(body.user ?? '')}'`);
    return user;
  }

  private channel(body: Record<string, unknown>): Channel {
    const id = String(body.channel ?? '');
    const registered = this.options.slack.channel(id);
    const channel =
      this.policyChannels.find((c) => c.id === id) ??
      (registered && registered.id === id ? this.wireChannel(registered) : undefined) ??
      this.otherChannel(id);
    if (!channel) throw new HttpError(400, `unknown channel '${id}'`);
    return channel;
  }

  /** A channel outside the policy that the bot has posted to anyway. */
  private otherChannel(id: string): Channel | undefined {
    if (!this.options.slack.messages.some((m) => m.channel === id)) return undefined;
    return { id, name: id.toLowerCase(), topic: '' };
  }

  /** `/azora …` typed in a channel: the slash command Slack would send, signed. */
  private async command(req: IncomingMessage, body: Record<string, unknown>): Promise<unknown> {
    const user = this.user(body);
    const channel = this.channel(body);
    const typed = String(body.text ?? '').trim();
    const match = /^\/(\S+)\s*([\s\S]*)$/.exec(typed);
    if (!match) throw new HttpError(400, 'type a slash command, for example /azora help');
    if (match[1] !== 'azora') {
      throw new HttpError(
        400,
        `/${match[1]} is not a valid command; in this workspace only /azora reaches a bot`,
      );
    }
    const responseUrl = this.options.slack.responseUrl(channel.id, user.id);
    const form = slashCommandBody({
      command: '/azora',
      text: escapedCommandText(match[2] ?? '', [...this.users.values()]),
      user: user.id,
      userName: user.handle,
      channel: channel.id,
      channelName: channel.name,
      responseUrl,
    });
    const answer = await this.toSlackEndpoint(req, form);
    // Bolt's ack() body is Slack's immediate answer to the person who typed the command.
    const ackMessage = parseAck(answer.text);
    if (ackMessage) await this.postToResponseUrl(responseUrl, ackMessage);
    return { ok: true, status: answer.status };
  }

  /** A button pressed: the block_actions payload Slack would send, signed. */
  private async click(req: IncomingMessage, body: Record<string, unknown>): Promise<unknown> {
    const user = this.user(body);
    const channel = this.channel(body);
    const ts = String(body.messageTs ?? '');
    const actionId = String(body.actionId ?? '');
    const message = this.options.slack.messages.find((m) => m.channel === channel.id && m.ts === ts);
    if (!message || (message.visibleTo && message.visibleTo !== user.id))
      throw new HttpError(404, `no message ${ts} in #${channel.name}`);
    // A page that has not caught up yet still shows the old button, and Slack sends such a
    // click all the same: the bot must cope, so the sandbox sends it too.
    const button = findButton(message.blocks, actionId) ?? {
      actionId,
      blockId: String(body.blockId ?? 'b'),
      text: String(body.text ?? 'button'),
      ...(typeof body.value === 'string' ? { value: body.value } : {}),
    };
    const responseUrl = `${this.options.slack.responseUrl(channel.id, user.id, message.threadTs)}&message_ts=${encodeURIComponent(message.ts)}`;
    const form = blockActionBody({
      user: user.id,
      userName: user.handle,
      channel: channel.id,
      channelName: channel.name,
      message: {
        ts: message.ts,
        ...(message.threadTs ? { threadTs: message.threadTs } : {}),
        text: message.text,
        blocks: message.blocks,
        ephemeral: Boolean(message.visibleTo),
      },
      button,
      responseUrl,
    });
    const answer = await this.toSlackEndpoint(req, form);
    return { ok: true, status: answer.status };
  }

  /**
   * A modal's Submit or Close: the view_submission Slack would send, signed, whose answer
   * decides what the modal does next (closes, shows errors under its inputs…); a Close
   * closes it and sends view_closed only when the view asked for it (notify_on_close).
   */
  private async view(req: IncomingMessage, body: Record<string, unknown>): Promise<unknown> {
    const user = this.user(body);
    const id = String(body.viewId ?? '');
    const held = this.options.slack.view(id);
    if (!held || held.user !== user.id) throw new HttpError(404, `no view ${id} for ${user.name}`);
    const stack = this.options.slack.openViews(user.id);
    if (stack[stack.length - 1] !== held) throw new HttpError(409, 'this view is no longer the one showing');
    const action = String(body.action ?? '');
    if (action === 'submit') {
      const form = viewSubmissionBody({
        user: user.id,
        userName: user.handle,
        view: held.view,
        values: viewValues(body.values),
      });
      const answer = await this.toSlackEndpoint(req, form);
      const outcome = this.options.slack.settleViewSubmission(held.id, answer);
      if (outcome.kind === 'refused') {
        this.options.logger.warn(
          { view: held.id, reason: outcome.reason },
          'sandbox: Slack would refuse the answer to a view_submission',
        );
      }
      return { ok: true, status: answer.status, outcome };
    }
    if (action === 'close') {
      // Slack closes the modal whatever the app says; it tells the app only if asked to.
      this.options.slack.closeView(held.id);
      if (!held.view.notify_on_close) return { ok: true };
      const form = viewClosedBody({ user: user.id, userName: user.handle, view: held.view });
      const answer = await this.toSlackEndpoint(req, form);
      return { ok: true, status: answer.status };
    }
    throw new HttpError(400, "action must be 'submit' or 'close'");
  }

  /**
   * A person adds a reaction from the page: the simulated Slack records it on the message
   * (`slack.react`, Slack's own refusals included) and the `reaction_added` event it
   * recorded goes to the bot's /slack/events as Slack's Events API would send it, signed.
   */
  private async react(req: IncomingMessage, body: Record<string, unknown>): Promise<unknown> {
    const user = this.user(body);
    const channel = this.channel(body);
    const ts = String(body.messageTs ?? '');
    const name = String(body.name ?? '');
    if (!REACTIONS.has(name)) throw new HttpError(400, `the page offers no :${name}:`);
    let recorded: SimulatedEvent;
    try {
      recorded = this.options.slack.react(user.id, channel.id, ts, name);
    } catch (err) {
      throw new HttpError(409, (err as Error).message);
    }
    const answer = await this.toEventsEndpoint(req, eventCallbackBody({ event: recorded }));
    return { ok: true, status: answer.status };
  }

  /**
   * A plain message typed in the composer: a person writing in the channel, kept by the
   * simulated Slack (history, pins and reactions see it). The bot subscribes to no message
   * events, so nothing is sent to it.
   */
  private say(body: Record<string, unknown>): unknown {
    const user = this.user(body);
    const channel = this.channel(body);
    const text = String(body.text ?? '').trim();
    if (!text) throw new HttpError(400, 'type something');
    try {
      this.options.slack.say(user.id, channel.id, text);
    } catch (err) {
      throw new HttpError(409, (err as Error).message);
    }
    return { ok: true };
  }

  /**
   * A shared file's content, as the page opens it: text as text, a picture as itself (the
   * page shows it in the message), anything else as bytes.
   */
  private fileContent(id: string, res: ServerResponse): void {
    const file = this.options.slack.file(id);
    if (!file?.bytes || file.state !== 'complete') return sendJson(res, 404, { error: `no file ${id}` });
    const wire = this.options.slack.messages.flatMap((m) => m.files ?? []).find((f) => f.id === id);
    const mimetype = typeof wire?.mimetype === 'string' ? wire.mimetype : 'application/octet-stream';
    const image = IMAGE_FILE.test(mimetype);
    res.writeHead(200, {
      'content-type': image
        ? mimetype
        : TEXT_FILE.test(mimetype)
          ? 'text/plain; charset=utf-8'
          : 'application/octet-stream',
      'content-length': file.bytes.length,
      // A completed file never changes: the page redraws a message without fetching its picture again.
      'cache-control': image ? 'private, max-age=86400, immutable' : 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(file.bytes);
  }

  /**
   * Fires or resolves one alert, as Prometheus would: pushed to the sandbox's Alertmanager,
   * which notifies the bot's webhook unless a silence holds it back (the answer says which);
   * with no Alertmanager of the sandbox's own, posted straight to the bot's webhook.
   */
  private async alert(req: IncomingMessage, body: Record<string, unknown>): Promise<unknown> {
    const name = String(body.alertname ?? '');
    const alert = this.alerts.find((a) => a.alertname === name);
    if (!alert) throw new HttpError(400, `unknown alert '${name}'`);
    const action = String(body.action ?? '');
    const current = this.episodes.get(name);
    const now = new Date().toISOString();
    let next: AlertEpisode;
    if (action === 'fire') {
      // Firing while it fires is Prometheus pushing it again: the same alert, which changes nothing.
      next = current && !current.endsAt ? current : { startsAt: now };
    } else if (action === 'resolve') {
      if (!current || current.endsAt) throw new HttpError(409, `${name} is not firing`);
      next = { ...current, endsAt: now };
    } else {
      throw new HttpError(400, "action must be 'fire' or 'resolve'");
    }
    const origin = `http://${req.headers.host ?? `127.0.0.1:${req.socket.localPort}`}`;
    const externalUrl = `${origin}/sandbox`;
    const pushed = pushedAlert(
      alert,
      this.namespace,
      next,
      `${externalUrl}/runbooks/${encodeURIComponent(name)}`,
      this.options.prometheus?.url ?? externalUrl,
    );
    // Prometheus fires an alert because its series crossed the line: they do so before the
    // bot can ask for them, and fall back when it is resolved.
    this.options.prometheus?.record({
      alertname: name,
      namespace: this.namespace,
      service: alert.service,
      severity: alert.severity,
      from: Date.parse(next.startsAt),
      ...(next.endsAt ? { to: Date.parse(next.endsAt) } : {}),
    });
    const am = this.options.alertmanager;
    const delivery = am
      ? await this.throughAlertmanager(am, req, pushed)
      : await this.toWebhook(req, pushed, externalUrl);
    this.episodes.set(name, next);
    this.outcomes.set(name, delivery);
    this.broadcast(event('alerts', this.alertStates()));
    return { ok: true, channel: this.channelFor(alert), delivery };
  }

  private async throughAlertmanager(
    am: NonNullable<WorkspaceOptions['alertmanager']>,
    req: IncomingMessage,
    pushed: PushedAlert,
  ): Promise<AlertDelivery> {
    try {
      // Normally done when the bot started listening; the first push waits for it if not.
      await am.deliverTo({
        url: `${this.botBase ?? botUrl(req)}/alertmanager`,
        token: this.options.alertmanagerToken,
      });
      await pushAlerts(am.url, [pushed]);
      const [holding] = await silencesHolding(am.url, pushed.labels);
      return holding
        ? { via: 'silenced', silence: holding.id, until: holding.endsAt }
        : { via: 'alertmanager' };
    } catch (err) {
      throw new HttpError(502, `the sandbox Alertmanager did not take the alert: ${(err as Error).message}`);
    }
  }

  private async toWebhook(
    req: IncomingMessage,
    pushed: PushedAlert,
    externalUrl: string,
  ): Promise<AlertDelivery> {
    const res = await this.postAlert(botUrl(req), webhookNotification([pushed], externalUrl));
    if (!res.ok) throw new HttpError(502, `the bot's /alertmanager answered ${res.status}: ${res.text}`);
    return { via: 'webhook' };
  }

  private async toSlackEndpoint(
    req: IncomingMessage,
    form: string,
  ): Promise<{ status: number; text: string }> {
    const res = await fetch(`${botUrl(req)}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(form, this.options.signingSecret),
      body: form,
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status !== 200) throw new HttpError(502, `the bot's /slack/events answered ${res.status}`);
    return { status: res.status, text };
  }

  private async toEventsEndpoint(req: IncomingMessage, body: string): Promise<{ status: number }> {
    const res = await fetch(`${botUrl(req)}/slack/events`, {
      method: 'POST',
      headers: signedEventHeaders(body, this.options.signingSecret),
      body,
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    await res.text();
    if (res.status !== 200) throw new HttpError(502, `the bot's /slack/events answered ${res.status}`);
    return { status: res.status };
  }

  private async postToResponseUrl(url: string, message: Record<string, unknown>): Promise<void> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', ...message }),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`the simulated Slack answered ${res.status}`);
  }
}

/** The bot itself: the port this request came in on, which is the bot's web port. */
function botUrl(req: IncomingMessage): string {
  return `http://127.0.0.1:${req.socket.localPort}`;
}

/** An ack() with a message carries it as JSON (or, from some apps, as plain text). */
function parseAck(text: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const message = parsed as Record<string, unknown>;
      return message.text !== undefined || message.blocks !== undefined ? message : undefined;
    }
  } catch {
    // not JSON: a plain-text answer
  }
  return { text };
}

function wireView(view: SimulatedView): WireView {
  const { submissions: _submissions, ...wire } = view;
  return wire;
}

/** What the page says was typed: text by block_id, then action_id. */
function viewValues(raw: unknown): Record<string, Record<string, string>> {
  if (raw === undefined) return {};
  if (!isRecord(raw)) throw new HttpError(400, 'values must be an object');
  const values: Record<string, Record<string, string>> = {};
  for (const [blockId, actions] of Object.entries(raw)) {
    if (!isRecord(actions)) throw new HttpError(400, `values.${blockId} must be an object`);
    values[blockId] = {};
    for (const [actionId, value] of Object.entries(actions)) {
      if (typeof value !== 'string')
        throw new HttpError(400, `values.${blockId}.${actionId} must be a string`);
      values[blockId][actionId] = value;
    }
  }
  return values;
}

export function findButton(blocks: unknown[], actionId: string): ClickedButton | undefined {
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    const elements = [
      ...(Array.isArray(block.elements) ? block.elements : []),
      ...(block.accessory !== undefined ? [block.accessory] : []),
    ];
    for (const element of elements) {
      if (!isRecord(element) || element.type !== 'button' || element.action_id !== actionId) continue;
      const text = isRecord(element.text) ? String(element.text.text ?? '') : '';
      return {
        actionId,
        blockId: typeof block.block_id === 'string' ? block.block_id : 'b',
        text,
        ...(typeof element.value === 'string' ? { value: element.value } : {}),
        ...(typeof element.url === 'string' ? { url: element.url } : {}),
        ...(typeof element.style === 'string' ? { style: element.style } : {}),
      };
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
