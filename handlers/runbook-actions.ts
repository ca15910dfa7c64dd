import { logsJob } from '../src/logs/contracts';
import { planRequestJob } from '../src/requests/contracts';
import type { ActionKind } from '../src/kernel/slack/actions';
import { parentKey, type AlertGroup } from '../src/alerts/domain/group';
import type { CoreDeps } from '../src/deps';
import { refusalFor } from '../src/access/check';
import { note } from '../src/kernel/slack/blocks';
import { oncePerPress, tellPresser, type Click, type ClickHandler } from '../src/web/click';

type RunbookKind = Extract<ActionKind, `runbook-${string}`>;

/** An alert thread's runbook buttons: logs, and changes through the normal request path. */
export function runbookClicks(deps: CoreDeps): Record<RunbookKind, ClickHandler> {
  const runbookAction: ClickHandler = async (click) => {
    const group = await deps.alerts.get(click.subject);
    if (!group?.environment || !group.service) {
      await tellPresser(click, note(':no_entry: this alert names no service the bot knows'));
      return;
    }
    const what = `${click.kind} on alert ${group.alertname} (${group.id})`;
    const refusal = await refusalFor(deps, {
      environment: group.environment,
      capability: click.kind === 'runbook-logs' ? 'view' : 'request',
      user: click.user,
      // Logs and requests go into the alert's thread, as a command typed there would.
      channel: group.channel,
      what,
    });
    if (refusal) return void (await tellPresser(click, refusal));
    await runbook(deps, click, group);
  };
  return {
    'runbook-rollback': runbookAction,
    'runbook-switch-back': runbookAction,
    'runbook-scale-up': runbookAction,
    'runbook-logs': runbookAction,
    // A link button still sends a click; it only needs answering.
    'runbook-link': async () => undefined,
  };
}

async function runbook(deps: CoreDeps, click: Click, group: AlertGroup) {
  const { kind, user, responseUrl } = click;
  const once = oncePerPress(click);
  const environment = group.environment!;
  const service = group.service!;
  const threadTs = await deps.outbox.tsOf(parentKey(group));
  const where = {
    requester: user,
    channel: group.channel,
    responseUrl,
    source: 'alert' as const,
    // One runbook change per group episode at a time: the plan job refuses a second.
    alertGroup: { id: group.id, episode: group.episode },
    ...(threadTs ? { threadTs } : {}),
  };
  switch (kind) {
    case 'runbook-logs':
      await deps.queues.enqueue(
        logsJob,
        {
          environment,
          service,
          lines: 100,
          sinceMs: 15 * 60_000,
          channel: group.channel,
          requester: user,
          responseUrl,
          threadKey: parentKey(group),
        },
        once,
      );
      return;
    case 'runbook-scale-up':
      await deps.queues.enqueue(
        planRequestJob,
        {
          command: { verb: 'scale', environment, service, replicas: 0, force: false },
          scaleBy: deps.policy.alerts.scaleUpStep,
          ...where,
        },
        once,
      );
      return;
    case 'runbook-rollback':
    case 'runbook-switch-back':
      // On a blue/green service a rollback is the switch back to the other colour.
      await deps.queues.enqueue(
        planRequestJob,
        { command: { verb: 'rollback', environment, service }, ...where },
        once,
      );
      return;
  }
}
