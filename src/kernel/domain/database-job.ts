/**
 * The bot's database Jobs (backups and restores) as the cluster adapter sees them: plain
 * data built by the backups use case, found again by these labels.
 */
/** What a backup or restore Job is, in its labels: how the bot finds its own Jobs again. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  kind: 'chatops.azora.world/job',
  environment: 'chatops.azora.world/environment',
  backup: 'chatops.azora.world/backup',
  request: 'chatops.azora.world/request',
} as const;
export const MANAGED_BY = 'azora-chatops';

export type DatabaseJobKind = 'backup' | 'restore';

/** Where the dumps live inside the Job's pod, and where the scripts are mounted. */
export const BACKUP_DIR = '/backups';
export const SCRIPTS_DIR = '/scripts';

/** The subset of batch/v1 Job the bot writes: plain data, so this stays pure. */
export interface JobManifest {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** A Job of the bot's, as listed: what its labels and status say. */
export interface DatabaseJob {
  name: string;
  kind: DatabaseJobKind;
  backupId: string;
  request: string;
  status: 'running' | 'succeeded' | 'failed';
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** How a Job ended, with the end of its pod's log (bounded): what the scripts reported. */
export interface JobOutcome {
  status: 'succeeded' | 'failed';
  /** The Job's failure condition (DeadlineExceeded, BackoffLimitExceeded) and message. */
  reason?: string;
  startedAt?: number;
  finishedAt?: number;
  log: string;
}
