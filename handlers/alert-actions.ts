import { alertActionJob } from '../src/alerts/contracts';
import type { CoreDeps } from '../src/deps';
import type { EnvironmentName } from '../src/commands/domain/types';
import { refusalFor } from '../src/access/check';
import { note } from '../src/kernel/slack/blocks';
import { oncePerPress, tellPresser, type ClickHandler } from '../src/web/click';

type AlertKind = 'ack' | 'silence' | 'unsilence';

/** Acknowledge (PagerDuty), Silence 1h and Expire silence (Alertmanager) on an alert thread. */
export function alertClicks(deps: CoreDeps): Record<AlertKind, ClickHandler> {
  const alertAction =
    (kind: AlertKind): ClickHandler =>
    async (click) => {
      const group = await deps.alerts.get(click.subject);
      if (!group)
        return void (await tellPresser(click, note(':no_entry: this alert is not known (any more)')));
      // An alert that names no environment is answered only by those who respond in all of them.
      const environments = group.environment
        ? [group.environment]
        : (Object.keys(deps.policy.environments) as EnvironmentName[]);
      for (const environment of environments) {
        const what = `${kind} on alert ${group.alertname} (${group.id})`;
        const refusal = await refusalFor(deps, {
          environment,
          capability: 'respond',
          user: click.user,
          what,
        });
        if (refusal) return void (await tellPresser(click, refusal));
      }
      await deps.queues.enqueue(
        alertActionJob,
        { kind, groupId: click.subject, user: click.user },
        oncePerPress(click),
      );
    };
  return { ack: alertAction('ack'), silence: alertAction('silence'), unsilence: alertAction('unsilence') };
}
