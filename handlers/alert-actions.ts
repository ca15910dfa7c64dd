import { alertActionJob } from '../src/alerts/contracts';
import type { CoreDeps } from '../src/deps';
import { refusalForAlert } from '../src/access/check';
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
      const refusal = await refusalForAlert(deps, group, {
        capability: 'respond',
        user: click.user,
        what: `${kind} on alert ${group.alertname} (${group.id})`,
      });
      if (refusal) return void (await tellPresser(click, refusal));
      await deps.queues.enqueue(
        alertActionJob,
        { kind, groupId: click.subject, user: click.user },
        oncePerPress(click),
      );
    };
  return { ack: alertAction('ack'), silence: alertAction('silence'), unsilence: alertAction('unsilence') };
}
