import type { AlertGroup } from '../alerts/domain/group';
import type { JobInfo } from '../kernel/queue/define';
import type { Logger } from '../kernel/log';
import type { RangeQueryPort } from '../kernel/prometheus';
import { slackError } from '../kernel/slack/errors';
import type { SlackOutbox } from '../kernel/slack/outbox';
import { changeRecords, type AuditWindow, type RequestLookup } from './changes';
import type { GraphClaims } from './claims';
import { expressionOfGeneratorUrl, splitThreshold } from './domain/expression';
import { describeGraph, firingPeriod, graphModel, NoGraph, type GraphModel } from './domain/graph';
import { changeMarkers, type ChangeMarker } from './domain/markers';
import type { GraphSettings } from '../config/policy';
import { graphWindow, type GraphWindow } from './domain/window';
import { renderGraph } from './render';
import { uploadGraph, type UploadDeps } from './upload';
import { noGraphLine } from './views';

/** What graphs add to the worker's dependencies. */
export interface GraphDeps {
  settings: GraphSettings;
  /** Absent without PROMETHEUS_URL: no graphs then. */
  prometheus?: RangeQueryPort;
  claims: GraphClaims;
  audit: AuditWindow;
}

/** What drawing a graph uses of the worker's context. */
export interface DrawDeps extends UploadDeps {
  graphs: GraphDeps;
  outbox: Pick<SlackOutbox, 'paced' | 'tsOf' | 'reply'>;
  requests: RequestLookup;
  logger: Logger;
  now(): number;
}

export interface DrawRequest {
  episode: number;
  /** Set when someone pressed Graph: drawn again, whatever was drawn, at most once per `redrawGap`. */
  redrawBy?: string;
  job: JobInfo;
}

export type DrawOutcome =
  { drawn: true; series: number; markers: number } | { skipped: string } | { failed: string };

/** The group's thread is not in Slack yet: the job is tried again later, a bounded number of times. */
export class ThreadNotYet extends Error {
  override readonly name = 'ThreadNotYet';
}

/**
 * The graph of an alert group in its thread: the rule's expression over the window, its
 * threshold, the firing period and the bot's changes, as a PNG. Once per episode (the
 * Graph button draws again, rate-limited); a digest line gets none. Whatever goes wrong
 * leaves one line in the thread (`no graph: …`) and ends the job: nothing here retries
 * but the wait for the thread, and nothing touches the alert's own message or its page.
 */
export async function drawAlertGraph(
  deps: DrawDeps,
  group: AlertGroup,
  threadKey: string,
  request: DrawRequest,
): Promise<DrawOutcome> {
  const { graphs } = deps;
  const redraw = request.redrawBy !== undefined;
  if (group.digest) return { skipped: 'the group is a digest line' };
  if (!redraw && group.episode !== request.episode) return { skipped: 'a later episode has its own graph' };
  // Only a pressed button hears that there is no Prometheus; threads are not told each time.
  if (!redraw && !graphs.prometheus) return { skipped: 'no Prometheus' };

  const threadTs = await deps.outbox.tsOf(threadKey);
  if (!threadTs) {
    if (request.job.attemptsMade + 1 < request.job.attempts)
      throw new ThreadNotYet(`the thread of alert group ${group.id} is not in Slack yet`);
    return { skipped: 'the thread never appeared' };
  }
  if (redraw) {
    if (!(await graphs.claims.claimRedraw(group.id, graphs.settings.redrawGap)))
      return { skipped: 'drawn moments ago' };
  } else {
    const claim = await graphs.claims.claimEpisode(group.id, request.episode, request.job.id);
    if (claim !== 'mine') return { skipped: claim === 'done' ? 'drawn already' : 'another job draws it' };
  }

  let outcome: DrawOutcome;
  try {
    const model = await modelOf(deps, group);
    const png = await renderGraph(model);
    await upload(deps, group, threadTs, model, png);
    outcome = { drawn: true, series: model.lines.length, markers: model.markers.length };
  } catch (err) {
    const reason = reasonOf(err);
    deps.logger.info({ group: group.id, reason }, 'no graph for this alert group');
    const id = `graph-${group.id}-${request.episode}-${redraw ? request.job.id : 'first'}`;
    await deps.outbox.reply(group.channel, threadKey, noGraphLine(reason), id);
    outcome = { failed: reason };
  }
  if (!redraw) await graphs.claims.episodeDone(group.id, request.episode);
  return outcome;
}

/** Everything the chart shows, read from the group, Prometheus and the audit trail. */
async function modelOf(deps: DrawDeps, group: AlertGroup): Promise<GraphModel> {
  const { settings, prometheus } = deps.graphs;
  if (!prometheus) throw new NoGraph('the bot has no Prometheus to ask (PROMETHEUS_URL)');
  const alerts = Object.values(group.alerts);
  const expr = expressionOfGeneratorUrl(group.generatorURL);
  if (!expr) throw new NoGraph('the alert names no expression (its generatorURL has no g0.expr)');
  const expression = splitThreshold(expr);
  const now = deps.now();
  const firing = firingPeriod(alerts, group.resolvedAt, now);
  const window = graphWindow(now, firing?.from, settings);
  const series = await prometheus.queryRange({
    query: expression.vector,
    start: window.start,
    end: window.end,
    step: window.step,
  });
  return graphModel({
    alertname: group.alertname,
    ...(group.environment ? { environment: group.environment } : {}),
    ...(group.service ? { service: group.service } : {}),
    expression,
    window,
    series,
    groupAlerts: alerts.filter((a) => a.status === 'firing').map((a) => a.labels),
    maxSeries: settings.maxSeries,
    ...(firing ? { firing } : {}),
    markers: await markersOf(deps, group, window),
  });
}

/** The bot's changes in the window; without them the graph is still worth having. */
async function markersOf(deps: DrawDeps, group: AlertGroup, window: GraphWindow): Promise<ChangeMarker[]> {
  if (!group.environment) return [];
  try {
    const records = await changeRecords(
      deps.graphs.audit,
      deps.requests,
      window.start,
      window.end,
      group.environment,
    );
    return changeMarkers(
      records,
      { environment: group.environment, ...(group.service ? { service: group.service } : {}) },
      window.start,
      window.end,
    );
  } catch (err) {
    deps.logger.warn({ group: group.id, err: (err as Error).message }, 'graph drawn without the changes');
    return [];
  }
}

const stamp = (ms: number): string =>
  new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');

async function upload(
  deps: DrawDeps,
  group: AlertGroup,
  threadTs: string,
  model: GraphModel,
  png: Buffer,
): Promise<void> {
  const name = group.alertname.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'alert';
  try {
    await uploadGraph(deps, {
      channel: group.channel,
      threadTs,
      png,
      filename: `${name}-${stamp(model.window.end)}.png`,
      title: `${model.title} (UTC)`,
      altText: describeGraph(model),
    });
  } catch (err) {
    throw new NoGraph(`Slack refused the upload (${slackError(err) ?? (err as Error).message})`);
  }
}

/** The short reason for the thread: our own and Prometheus' errors say it already. */
function reasonOf(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (e.name === 'NoGraph' || e.name === 'PrometheusError') return message;
  return `could not draw it (${message.slice(0, 160)})`;
}
