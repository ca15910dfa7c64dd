import type { AlertmanagerClient } from '../kernel/alertmanager';
import { formatDuration } from '../kernel/domain/duration';
import { silenceMatchers, type AlertGroup } from './domain/group';

/** What names a press's silence in its comment, so a retry of that press finds it. */
const pressMark = (pressId: string) => `[azora press ${pressId}]`;

/**
 * Silences the labels the group's alerts share for `durationMs`, once per press. Alertmanager has no
 * idempotent create, so the press's job id goes into the comment: a retry (the silence was
 * made, then the job failed before it was recorded, or Alertmanager's answer was lost)
 * finds the silence it made, still active or pending, instead of making a second one.
 */
export async function silenceOnce(
  alertmanager: AlertmanagerClient,
  group: AlertGroup,
  press: { id: string; user: string; retried: boolean },
  durationMs: number,
): Promise<{ id: string; endsAt: string }> {
  const mark = pressMark(press.id);
  if (press.retried) {
    const made = (await alertmanager.listSilences()).find(
      (s) => s.comment.includes(mark) && s.status.state !== 'expired',
    );
    if (made) return { id: made.id, endsAt: made.endsAt };
  }
  return alertmanager.createSilence({
    matchers: silenceMatchers(group),
    durationMs,
    createdBy: `slack:${press.user}`,
    comment: `Silenced from Slack for ${formatDuration(durationMs)} (${group.alertname}) ${mark}`,
  });
}
