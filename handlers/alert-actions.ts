import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { alertActionJob } from '../jobs/alert-action';
import { logsJob } from '../jobs/logs';
import { planRequestJob } from '../jobs/plan-request';
import { actionPattern, parseActionId, type ActionKind } from '../src/domain/actions';
import type { AlertGroup } from '../src/domain/alerts/group';
import { parentKey } from '../src/operations/alerts';
import type { CoreServices } from '../src/services';

type RunbookKind = Extract<ActionKind, `runbook-${string}`>;

/** The buttons of an alert thread: PagerDuty, Alertmanager, and runbook actions through the normal request path. */
export function registerAlertActions(app: App, services: CoreServices): void {
  for (const kind of ['ack', 'silence', 'unsilence'] as const) {
    app.action<BlockAction<ButtonAction>>(
      { action_id: actionPattern(kind) },
      async ({ ack, action, body }) => {
        await ack();
        const groupId = parseActionId(action.action_id)!.subject;
        await services.queues.enqueue(alertActionJob, { kind, groupId, user: body.user.id });
      },
    );
  }
  // A link button still sends a click; it only needs answering.
  app.action({ action_id: actionPattern('runbook-link') }, async ({ ack }) => ack());

  for (const kind of [
    'runbook-rollback',
    'runbook-switch-back',
    'runbook-scale-up',
    'runbook-logs',
  ] as const) {
    app.action<BlockAction<ButtonAction>>(
      { action_id: actionPattern(kind) },
      async ({ ack, action, body, respond }) => {
        await ack();
        const group = await services.alerts.get(parseActionId(action.action_id)!.subject);
        if (!group?.environment || !group.service) {
          await respond({
            response_type: 'ephemeral',
            replace_original: false,
            text: ':no_entry: this alert names no service the bot knows',
          });
          return;
        }
        await runbook(services, kind, group, body.user.id, body.response_url);
      },
    );
  }
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
