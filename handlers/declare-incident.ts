import type { CoreDeps } from '../src/deps';
import { incidentCommandJob } from '../src/incidents/contracts';
import { incidentTitle, severityForAlert } from '../src/incidents/domain/incident';
import { md, note } from '../src/kernel/slack/blocks';
import { tellPresser, type Click } from '../src/web/click';
import { refusalForAlert } from '../src/access/check';

/**
 * "Declare incident" on a critical alert thread: the alert's summary as the title, its
 * severity mapped by the policy; one incident per alert group, however often it is pressed.
 */
export async function declareFromAlert(deps: CoreDeps, click: Click): Promise<void> {
  const group = await deps.alerts.get(click.subject);
  if (!group || !click.channel || !click.responseUrl) {
    await tellPresser(click, note(':no_entry: this alert is not known (any more)'));
    return;
  }
  // Declaring from an alert responds to it, as Acknowledge does: it may page on-call and
  // opens a channel showing the alert, so it asks the same right of the alert's environment.
  const refusal = await refusalForAlert(deps, group, {
    capability: 'respond',
    user: click.user,
    what: `declare-incident on alert ${group.alertname} (${group.id})`,
  });
  if (refusal) return void (await tellPresser(click, refusal));
  await deps.queues.enqueue(
    incidentCommandJob,
    {
      command: {
        action: 'declare',
        severity: severityForAlert(deps.policy.incidents, group.severity),
        title: incidentTitle(`${group.alertname}: ${group.summary}`),
        alertGroup: group.id,
      },
      requester: click.user,
      channel: click.channel,
      responseUrl: click.responseUrl,
      seed: `alert-${group.id}-${group.episode}`,
    },
    // One declaration at a time per group and episode, whoever presses and however often; a
    // press after it ended (refused, failed, or done: then answered with its channel) is a new job.
    { deduplication: { id: `declare-${group.id}-${group.episode}` } },
  );
  await tellPresser(click, note(md`:rotating_light: Declaring an incident for ${group.alertname}…`));
}
