import type { CoreDeps } from '../src/deps';
import { refusalForAlert } from '../src/access/check';
import { alertGraphJob } from '../src/graphs/contracts';
import { note } from '../src/kernel/slack/blocks';
import { tellPresser, type Click } from '../src/web/click';

/** Graph on an alert thread: drawn again now, for whoever may view the alert's environment (rate-limited per group by the job). */
export async function graphClick(deps: CoreDeps, click: Click): Promise<void> {
  const group = await deps.alerts.get(click.subject);
  if (!group) return void (await tellPresser(click, note(':no_entry: this alert is not known (any more)')));
  const refusal = await refusalForAlert(deps, group, {
    capability: 'view',
    user: click.user,
    what: `the graph of alert ${group.alertname} (${group.id})`,
  });
  if (refusal) return void (await tellPresser(click, refusal));
  await deps.queues.enqueue(
    alertGraphJob,
    // No double-click window: the job's per-group redraw turn says "again in N s" instead.
    { groupId: group.id, episode: group.episode, redrawBy: click.user, responseUrl: click.responseUrl },
  );
  await tellPresser(click, note(':chart_with_upwards_trend: Drawing the graph into the thread…'));
}
