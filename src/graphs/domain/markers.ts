import { versionOf } from '../../kernel/domain/release';
import type { PlanStep } from '../../requests/domain/types';

export type ChangeKind = 'deploy' | 'switch' | 'rollback' | 'scale' | 'maintenance';

/** A change the bot made, as a vertical line on the graph. */
export interface ChangeMarker {
  at: number;
  kind: ChangeKind;
  /** Short enough to sit on the line: `deploy v1.4.2`, `switch → green`, `scale 6`. */
  label: string;
  /** Who asked for it (a Slack id), or `bot`. */
  actor: string;
}

/**
 * An audit event, with the plan of the request it names when there is one: the audit
 * trail says a request succeeded, its plan says what that changed.
 */
export interface ChangeRecord {
  type: string;
  at: number;
  actor: string;
  environment?: string;
  services?: readonly string[];
  plan?: readonly PlanStep[];
}

/** Which part of the platform a graph is about. */
export interface ChangeScope {
  environment?: string;
  service?: string;
}

/** Audit types of a finished request: a failed one may have changed things half-way, so it is drawn too. */
const FINISHED = new Set(['succeeded', 'failed']);
/** A scheduled window's start, which is no request of its own. */
const MAINTENANCE_START = 'maintenance-start';

/** What one step did, as a marker label; undefined for steps that are no change of a running service. */
function describe(step: PlanStep): { kind: ChangeKind; label: string } | undefined {
  switch (step.kind) {
    case 'deploy':
      return { kind: 'deploy', label: `deploy ${versionOf(step.toImage)}` };
    case 'switch':
      return { kind: 'switch', label: `switch → ${step.to}` };
    case 'rollback':
      return { kind: 'rollback', label: `rollback → ${versionOf(step.toImage)}` };
    case 'scale':
      return { kind: 'scale', label: `scale ${step.to}` };
    case 'maintenance':
      return (step.action ?? 'now') === 'now' ? { kind: 'maintenance', label: 'maintenance' } : undefined;
    default:
      return undefined;
  }
}

/**
 * The changes to draw on a graph of `scope` between `from` and `to`: deploys, switches,
 * rollbacks and scales of its service, and maintenance of its environment, oldest first,
 * the latest `max` of them. Without an environment nothing can be told apart (a service
 * name exists in every environment), so nothing is drawn.
 */
export function changeMarkers(
  records: readonly ChangeRecord[],
  scope: ChangeScope,
  from: number,
  to: number,
  max = 8,
): ChangeMarker[] {
  if (!scope.environment) return [];
  const markers: ChangeMarker[] = [];
  for (const record of records) {
    if (record.at < from || record.at > to || record.environment !== scope.environment) continue;
    if (record.type === MAINTENANCE_START) {
      markers.push({ at: record.at, kind: 'maintenance', label: 'maintenance', actor: record.actor });
      continue;
    }
    if (!FINISHED.has(record.type) || !record.plan) continue;
    for (const step of record.plan) {
      const change = describe(step);
      if (!change) continue;
      if (change.kind !== 'maintenance' && step.service !== scope.service) continue;
      const label = record.type === 'failed' ? `${change.label} (failed)` : change.label;
      markers.push({ at: record.at, kind: change.kind, label, actor: record.actor });
    }
  }
  const seen = new Set<string>();
  const distinct = markers
    .sort((a, b) => a.at - b.at)
    .filter((m) => {
      const key = `${m.at}|${m.label}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  return max > 0 ? distinct.slice(-max) : [];
}
