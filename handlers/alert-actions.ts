import { alertActionJob } from '../jobs/alert-action';
import { logsJob } from '../jobs/logs';
import { planRequestJob } from '../jobs/plan-request';
import type { ActionKind } from '../src/domain/actions';
import type { AlertGroup } from '../src/domain/alerts/group';
import { parentKey } from '../src/operations/alerts';
import type { CoreServices } from '../src/services';
import { oncePerPress, type Click, type ClickHandler } from './click';

type RunbookKind = Exclude<Extract<ActionKind, `runbook-${string}`>, 'runbook-link'>;
type AlertKind = 'ack' | 'silence' | 'unsilence';

/** The buttons of an alert thread: PagerDuty, Alertmanager, and runbook actions through the normal request path. */
export function alertClicks(
  services: CoreServices,
): Record<AlertKind | RunbookKind | 'runbook-link', ClickHandler> {
  const alertAction =
    (kind: AlertKind): ClickHandler =>
    async (click) => {
      await services.queues.enqueue(
        alertActionJob,
        { kind, groupId: click.subject, user: click.user },
        oncePerPress(click),
      );
    };
  const runbookAction: ClickHandler = async (click) => {
    const group = await services.alerts.get(click.subject);
    if (!group?.environment || !group.service) {
      await click.respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: ':no_entry: this alert names no service the bot knows',
      });
      return;
    }
    await runbook(services, click, group);
  };
  return {
    ack: alertAction('ack'),
    silence: alertAction('silence'),
    unsilence: alertAction('unsilence'),
    'runbook-rollback': runbookAction,
    'runbook-switch-back': runbookAction,
    'runbook-scale-up': runbookAction,
    'runbook-logs': runbookAction,
    // A link button still sends a click; it only needs answering.
    'runbook-link': async () => undefined,
  };
}

async function runbook(services: CoreServices, click: Click, group: AlertGroup) {
  const { kind, user, responseUrl } = click;
  const once = oncePerPress(click);
  const environment = group.environment!;
  const service = group.service!;
  const threadTs = await services.outbox.tsOf(parentKey(group));
  const where = {
    requester: user,
    channel: group.channel,
    responseUrl,
    source: 'alert' as const,
    ...(threadTs ? { threadTs } : {}),
  };
  switch (kind) {
    case 'runbook-logs':
      await services.queues.enqueue(
        logsJob,
        {
          environment,
          service,
          lines: 100,
          sinceMs: 15 * 60_000,
          channel: group.channel,
          requester: user,
          responseUrl,
          ...(threadTs ? { threadTs } : {}),
        },
        once,
      );
      return;
    case 'runbook-scale-up':
      await services.queues.enqueue(
        planRequestJob,
        {
          command: { verb: 'scale', environment, service, replicas: 0, force: false },
          scaleBy: services.policy.alerts.scaleUpStep,
          ...where,
        },
        once,
      );
      return;
    case 'runbook-rollback':
    case 'runbook-switch-back':
      // On a blue/green service a rollback is the switch back to the other colour.
      await services.queues.enqueue(
        planRequestJob,
        { command: { verb: 'rollback', environment, service }, ...where },
        once,
      );
      return;
  }
}
