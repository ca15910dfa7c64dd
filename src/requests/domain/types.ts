import type { Colour, EnvironmentName } from '../../kernel/domain/environment';
import type { RevisionTarget } from '../../kernel/domain/revision';

export type { RevisionTarget };

export type ChangeVerb = 'scale' | 'switch' | 'rollback' | 'maintenance' | 'deploy' | 'restore';

export type RequestStatus =
  | 'planning'
  | 'pending-approval'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'stale'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'refused';

export const FINAL_STATUSES: readonly RequestStatus[] = [
  'denied',
  'expired',
  'stale',
  'succeeded',
  'failed',
  'refused',
];

/** One change to one service, with what it was when planned and what it will be: pinned at approval. */
export type PlanStep =
  | {
      kind: 'scale';
      service: string;
      target: string;
      from: number;
      to: number;
      hpa?: { name: string; min: number; max: number };
    }
  | {
      kind: 'switch';
      service: string;
      serviceName: string;
      from: Colour;
      to: Colour;
      /** The images each colour runs at planning: the version traffic leaves and the one it gets. */
      fromImage?: string;
      toImage?: string;
    }
  | DeployStep
  /** The guide's backup before a production deploy: `service` is the environment. */
  | { kind: 'backup'; service: string }
  /** A database restore inside a maintenance window of `windowMs`: `service` is the environment. */
  | { kind: 'restore'; service: string; backupId: string; windowMs: number }
  | ({ kind: 'rollback'; service: string } & RevisionTarget)
  | {
      kind: 'maintenance';
      service: string;
      durationMs: number;
      reason: string;
      /** `now` (the default) starts at approval; the others act on a window at `start` or named `windowId`. */
      action?: MaintenanceAction;
      start?: number;
      windowId?: string;
    };

/**
 * A new version for one service. Rolling: `deployment` gets `toImage`. Blue/green:
 * `deployment` is the idle colour's, which gets `toImage` and the live colour's replicas,
 * is checked on its own, and only then takes the traffic.
 */
export interface DeployStep {
  kind: 'deploy';
  service: string;
  deployment: string;
  /** What `deployment` runs at planning. */
  fromImage: string;
  toImage: string;
  blueGreen?: {
    serviceName: string;
    live: Colour;
    liveImage: string;
    idle: Colour;
    replicas: number;
  };
  /** An approver asked to deploy a version that never succeeded in staging. */
  forced?: boolean;
}

/** What an approved maintenance request does: start now, schedule on short notice, or move or cancel a window. */
export type MaintenanceAction = 'now' | 'schedule' | 'move' | 'cancel';

export interface ChangeArgs {
  replicas?: number;
  colour?: Colour;
  toRevision?: number;
  force?: boolean;
  durationMs?: number;
  reason?: string;
  maintenance?: MaintenanceAction;
  start?: number;
  windowId?: string;
  version?: string;
  backup?: string;
  /** A switch back the bot made on its own: the release (request id) it undoes, and the alert that asked. */
  autoSwitchBack?: { release: string; alert: string };
}

export interface Decision {
  user: string;
  at: number;
}

/** A change someone asked for, from request to result; kept in Redis, told in one Slack thread. */
export interface OpsRequest {
  id: string;
  verb: ChangeVerb;
  environment: EnvironmentName;
  /** The services named, or every service the verb applies to. */
  services: string[];
  args: ChangeArgs;
  requester: string;
  channel: string;
  /** The parent message of the request's thread. */
  messageTs?: string;
  /** The progress reply in that thread. */
  progressTs?: string;
  /** The Switch back offer posted in that thread once the change succeeded. */
  switchBackTs?: string;
  source: 'command' | 'alert' | 'switch-back' | 'auto-switch-back';
  status: RequestStatus;
  createdAt: number;
  expiresAt?: number;
  plan: PlanStep[];
  approvedBy?: Decision;
  deniedBy?: Decision;
  startedAt?: number;
  finishedAt?: number;
  /** What happened, one line per step, for the thread and the audit trail. */
  outcome?: string[];
  /** Services whose health check failed after their step. */
  unhealthy?: string[];
  error?: string;
}
