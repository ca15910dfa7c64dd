import type { Deps } from '../deps';
import type { AlertChange, AlertGroup } from '../alerts/domain/group';
import { formatDuration } from '../kernel/domain/duration';
import { versionOf } from '../kernel/domain/release';
import { planRequestJob } from '../requests/contracts';
import type { OpsRequest } from '../requests/domain/types';
import { trafficMoves } from '../requests/domain/traffic';
import { alertInReleaseMessage, autoSwitchBackMessage, releaseInAlertMessage } from './views';

/**
 * A release whose traffic moved forward (a deploy or a switch asked for) is watched for the
 * bake window: each service it moved is marked baking. A switch back or a rollback ends
 * the watch of what it moved instead; it is never watched itself, so nothing automatic can
 * flip a service back onto the release it just left. A typed switch to the colour a baking
 * release moved the service from is that switch back too (the guide's own rollback step).
 */
export async function watchAfterChange(deps: Deps, request: OpsRequest): Promise<void> {
  const moves = trafficMoves(request.plan);
  const forward =
    (request.verb === 'deploy' || request.verb === 'switch') && ['command', 'alert'].includes(request.source);
  const now = deps.now();
  for (const move of moves) {
    const back =
      forward &&
      request.verb === 'switch' &&
      (await deps.releases.baking(request.environment, move.service))?.from === move.to;
    if (!forward || back) {
      await deps.releases.stopBaking(request.environment, move.service);
      continue;
    }
    await deps.releases.startBaking({
      release: request.id,
      environment: request.environment,
      service: move.service,
      from: move.from,
      to: move.to,
      version: move.toImage ? versionOf(move.toImage) : move.to,
      requester: request.requester,
      channel: request.channel,
      ...(request.messageTs ? { threadTs: request.messageTs } : {}),
      switchedAt: now,
      until: now + deps.policy.guards.bakeWindow,
    });
  }
}

/**
 * An alert group opening for a service inside its bake window: said in the release's
 * thread, the release named in the alert's thread with its Switch back button, and, for
 * the policy's `releases.autoSwitchBack` alerts, the switch back asked for at once, once
 * per release and service.
 */
export async function watchAlert(
  deps: Deps,
  group: AlertGroup,
  changes: readonly AlertChange[],
  alertThreadKey: string,
): Promise<'none' | 'noted' | 'switching-back'> {
  if (!group.environment || !group.service || group.status !== 'firing') return 'none';
  if (!changes.some((c) => c.kind === 'opened' || c.kind === 'reopened')) return 'none';
  const baking = await deps.releases.baking(group.environment, group.service);
  if (!baking) return 'none';
  const now = deps.now();
  const after = formatDuration(Math.max(0, now - baking.switchedAt));
  const auto =
    deps.policy.releases.autoSwitchBack.includes(group.alertname) &&
    (await deps.releases.claimAutoSwitchBack(baking.release, baking.service, baking.until - now));

  // Told first, so the threads read in order; but a Slack failure here must not lose the
  // switch back, whose claim is taken and which a retried job would not see again.
  let untold: unknown;
  try {
    // Once per episode: a notification retried after it was handled (only its ack failed)
    // comes back here with the same group and episode.
    const note = `${group.id}-${group.episode}`;
    if (!(await deps.releases.wasTold(baking.release, note))) {
      await deps.messenger.post(
        baking.channel,
        alertInReleaseMessage(group.alertname, group.summary, baking, after),
        baking.threadTs,
      );
      await deps.releases.told(baking.release, note, baking.until - now);
    }
    if (!group.digest) {
      await deps.outbox.reply(
        group.channel,
        alertThreadKey,
        releaseInAlertMessage(baking, after, auto),
        `${group.id}-${group.episode}-release`,
      );
    }
  } catch (err) {
    untold = err;
  }
  if (!auto) {
    if (untold) throw untold;
    return 'noted';
  }

  if (!untold) {
    await deps.messenger
      .post(baking.channel, autoSwitchBackMessage(group.alertname, baking), baking.threadTs)
      .catch((err: unknown) => (untold = err));
  }
  await deps.audit.record({
    type: 'auto-switch-back',
    request: baking.release,
    actor: 'bot',
    environment: baking.environment,
    services: [baking.service],
    detail: `${group.alertname} fired ${after} after ${baking.service} went to ${baking.to} (${baking.version}); back to ${baking.from}`,
  });
  await deps.queues.enqueue(
    planRequestJob,
    {
      command: {
        verb: 'switch',
        environment: baking.environment,
        colour: baking.from,
        service: baking.service,
      },
      services: [baking.service],
      targets: { [baking.service]: baking.from },
      requester: baking.requester,
      channel: baking.channel,
      ...(baking.threadTs ? { threadTs: baking.threadTs } : {}),
      source: 'auto-switch-back',
      autoSwitchBack: { release: baking.release, alert: group.alertname.slice(0, 200) },
    },
    // Per alert episode: one refused (its service locked) gives its claim back, and the next may ask again.
    { jobId: `auto-switch-back-${baking.release}-${baking.service}-${group.id}-${group.episode}` },
  );
  if (untold) throw untold;
  return 'switching-back';
}
