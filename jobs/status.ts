import { environmentOf } from '../src/kernel/domain/topology';
import { defineJob, type JobContext } from '../src/deps';
import type { EnvironmentName } from '../src/kernel/domain/environment';
import type { DatabaseJob } from '../src/kernel/domain/database-job';
import { statusJob } from '../src/status/contracts';

import { statusMessage } from '../src/status/views';
import { md, note } from '../src/kernel/slack/blocks';

const OPEN = new Set(['pending-approval', 'approved', 'running']);

/** `/azora status <env>`: reads the cluster and the request store, answers the person who asked. */
export const statusProcessor = defineJob(statusJob, async ({ environment, responseUrl }, ctx) => {
  try {
    const [services, recent, audit, databaseJobs] = await Promise.all([
      ctx.kube.status(environment),
      ctx.requests.recent(environment, 50),
      ctx.audit.recent(8, environment),
      runningDatabaseJobs(ctx, environment),
    ]);
    const open = recent.filter((r) => OPEN.has(r.status));
    const { namespace } = environmentOf(ctx.policy, environment);
    await ctx.messenger.respond(
      responseUrl,
      statusMessage(environment, namespace, services, open, audit, databaseJobs),
    );
    return { services: services.length };
  } catch (err) {
    // The cluster's own words (an nginx error page, say) are text, not Slack markup.
    const reason = (err as Error).message;
    await ctx.messenger.respond(responseUrl, note(md`:x: could not read ${environment}: ${reason}`));
    return { error: reason };
  }
});

/**
 * The backup and restore Jobs running in the cluster: a daily backup runs without any
 * request, and a restore's Job outlives the request's own run. Where the policy has no
 * backups the bot may not list Jobs there, and there are none of its own.
 */
async function runningDatabaseJobs(
  ctx: Pick<JobContext, 'kube' | 'policy'>,
  environment: EnvironmentName,
): Promise<DatabaseJob[]> {
  if (!ctx.policy.backups[environment]) return [];
  const kinds = await Promise.all(
    (['backup', 'restore'] as const).map((kind) => ctx.kube.listJobs(environment, kind)),
  );
  return kinds.flat().filter((job) => job.status === 'running');
}
