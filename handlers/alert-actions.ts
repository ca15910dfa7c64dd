import { alertActionJob } from '../jobs/alert-action';
import { logsJob } from '../jobs/logs';
import { planRequestJob } from '../jobs/plan-request';
import type { ActionKind } from '../src/domain/actions';
import type { AlertGroup } from '../src/domain/alerts/group';
import { parentKey } from '../src/operations/alerts';
import type { CoreServices } from '../src/services';
import type { ClickHandler } from './click';

type RunbookKind = Exclude<Extract<ActionKind, `runbook-${string}`>, 'runbook-link'>;
type AlertKind = 'ack' | 'silence' | 'unsilence';

/** The buttons of an alert thread: PagerDuty, Alertmanager, and runbook actions through the normal request path. */
export function alertClicks(
  services: CoreServices,
): Record<AlertKind | RunbookKind | 'runbook-link', ClickHandler> {
  const alertAction =
    (kind: AlertKind): ClickHandler =>
    async ({ subject, user }) => {
      await services.queues.enqueue(alertActionJob, { kind, groupId: subject, user });
    };
  const runbookAction =
    (kind: RunbookKind): ClickHandler =>
    async ({ subject, user, responseUrl, respond }) => {
      const group = await services.alerts.get(subject);
      if (!group?.environment || !group.service) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: ':no_entry: this alert names no service the bot knows',
        });
        return;
      }
      await runbook(services, kind, group, user, responseUrl);
    };
  return {
    ack: alertAction('ack'),
    silence: alertAction('silence'),
    unsilence: alertAction('unsilence'),
    'runbook-rollback': runbookAction('runbook-rollback'),
    'runbook-switch-back': runbookAction('runbook-switch-back'),
    'runbook-scale-up': runbookAction('runbook-scale-up'),
    'runbook-logs': runbookAction('runbook-logs'),
    // A link button still sends a click; it only needs answering.
    'runbook-link': async () => undefined,
  };
}

async function runbook(
  services: CoreServices,
  kind: RunbookKind,
  group: AlertGroup,
  user: string,
  responseUrl: string,
) {
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
      await services.queues.enqueue(logsJob, {
        environment,
        service,
        lines: 100,
        sinceMs: 15 * 60_000,
        channel: group.channel,
        requester: user,
        responseUrl,
        ...(threadTs ? { threadTs } : {}),
      });
      return;
    case 'runbook-scale-up':
      await services.queues.enqueue(planRequestJob, {
        command: { verb: 'scale', environment, service, replicas: 0, force: false },
        scaleBy: services.policy.alerts.scaleUpStep,
        ...where,
      });
      return;
    case 'runbook-rollback':
    case 'runbook-switch-back':
      // On a blue/green service a rollback is the switch back to the other colour.
      await services.queues.enqueue(planRequestJob, {
        command: { verb: 'rollback', environment, service },
        ...where,
      });
      return;
  }
}
