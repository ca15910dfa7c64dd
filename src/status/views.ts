import type { KnownBlock } from '@slack/types';
import type { EnvironmentName } from '../commands/domain/types';
import type { OpsRequest } from '../requests/domain/types';
import type { AuditEvent } from '../kernel/audit';
import { versionOf } from '../kernel/domain/release';
import {
  bold,
  code,
  context,
  divider,
  joinText,
  md,
  mention,
  message,
  section,
  type SlackMessage,
} from '../kernel/slack/blocks';
import { commandText } from '../requests/domain/describe';
import type { Colour } from '../kernel/domain/environment';
import type { DatabaseJob } from '../kernel/domain/database-job';

/** What the status shows of one workload (the cluster port's WorkloadState carries it). */
export interface WorkloadStatus {
  name: string;
  desired: number;
  ready: number;
  /** Pods on the current template. */
  updated: number;
  /** Pods of every revision: more than desired while old ones still run. */
  total: number;
  revision?: number;
  image: string;
  paused: boolean;
  colour?: Colour;
  hpa?: { min: number; max: number };
}

/** What the status shows of one service (the cluster port's ServiceState carries it). */
export interface ServiceStatus {
  service: string;
  /** Blue/green: the colour the Service sends traffic to. */
  activeColour?: Colour;
  workloads: WorkloadStatus[];
  /** Why it could not be read. */
  problem?: string;
}

function workloadLine(w: WorkloadStatus, active?: string): string {
  // Ready pods of the old template count as ready too: a rollout stuck half-way is not green.
  const rolling = w.updated < w.desired || w.total > w.desired;
  const health =
    w.ready === 0 && w.desired > 0
      ? ':red_circle:'
      : w.ready >= w.desired && !rolling
        ? ':large_green_circle:'
        : ':large_yellow_circle:';
  const old = Math.max(0, w.total - w.updated);
  const rollout = rolling
    ? ` · *rolling out*: ${w.updated} of ${w.desired} pods updated${old ? `, ${old} old still running` : ''}`
    : '';
  const live = w.colour ? (w.colour === active ? ' *live*' : ' idle') : '';
  const hpa = w.hpa ? ` · HPA ${w.hpa.min}–${w.hpa.max}` : '';
  const revision = w.revision ? ` · rev ${w.revision}` : '';
  const paused = w.paused ? ' · *paused*' : '';
  return md`${health} ${code(w.name)}${live} ${bold(versionOf(w.image))} ${w.ready}/${w.desired} ready${rollout}${hpa}${revision} · ${code(w.image)}${paused}`
    .markup;
}

/** `/azora status <env>`: the services, what waits for approval or runs, and the latest audit events. */
export function statusMessage(
  environment: EnvironmentName,
  namespace: string,
  services: ServiceStatus[],
  open: OpsRequest[],
  audit: AuditEvent[],
  /** Backup and restore Jobs running in the cluster now. */
  databaseJobs: readonly Pick<DatabaseJob, 'name' | 'kind'>[] = [],
): SlackMessage {
  const blocks: KnownBlock[] = [section(md`*${environment}* (${code(namespace)})`)];
  for (const svc of services) {
    if (svc.problem) {
      blocks.push(section(md`*${svc.service}*\n:warning: could not be read: ${svc.problem}`));
      continue;
    }
    const colour = svc.activeColour ? ` — traffic on *${svc.activeColour}*` : '';
    const lines = svc.workloads.map((w) => workloadLine(w, svc.activeColour));
    blocks.push(section(md`*${svc.service}*${colour}\n${joinText(lines, '\n')}`));
  }
  blocks.push(divider());
  const pending = open.filter((r) => r.status === 'pending-approval');
  const running = open.filter((r) => r.status === 'running' || r.status === 'approved');
  const waiting = pending.map((r) => md`${code(r.id)} ${commandText(r)} by ${mention(r.requester)}`);
  const runningNow = [
    ...running.map((r) => md`${code(r.id)} ${commandText(r)}`),
    ...databaseJobs.map((job) => md`${job.kind} Job ${code(job.name)}`),
  ];
  blocks.push(
    section(
      md`*Waiting for approval:* ${waiting.length ? joinText(waiting, ' · ') : 'none'}\n*Running:* ${runningNow.length ? joinText(runningNow, ' · ') : 'none'}`,
    ),
  );
  if (audit.length > 0) {
    blocks.push(
      context(
        ...audit
          .slice(0, 8)
          .map(
            (e) =>
              md`${new Date(e.at).toISOString().slice(11, 19)} ${e.type} ${e.request ?? ''} by ${mention(e.actor)}`,
          ),
      ),
    );
  }
  const summary = services
    .map(
      (s) =>
        `${s.service}: ${s.workloads.map((w) => `${w.name} ${w.ready}/${w.desired}`).join(', ')}${s.activeColour ? ` (live ${s.activeColour})` : ''}`,
    )
    .join('; ');
  return message(`${environment} status: ${summary}`, blocks);
}
