import { environmentOf } from '../src/kernel/domain/topology';
import { defineJob } from '../src/deps';
import { statusJob } from '../src/status/contracts';

import { statusMessage } from '../src/status/views';
import { md, note } from '../src/kernel/slack/blocks';

const OPEN = new Set(['pending-approval', 'approved', 'running']);

/** `/azora status <env>`: reads the cluster and the request store, answers the person who asked. */
export const statusProcessor = defineJob(statusJob, async ({ environment, responseUrl }, ctx) => {
  try {
    const [services, recent, audit] = await Promise.all([
      ctx.kube.status(environment),
      ctx.requests.recent(environment, 50),
      ctx.audit.recent(8, environment),
    ]);
    const open = recent.filter((r) => OPEN.has(r.status));
    const { namespace } = environmentOf(ctx.policy, environment);
    await ctx.messenger.respond(responseUrl, statusMessage(environment, namespace, services, open, audit));
    return { services: services.length };
  } catch (err) {
    // The cluster's own words (an nginx error page, say) are text, not Slack markup.
    const reason = (err as Error).message;
    await ctx.messenger.respond(responseUrl, note(md`:x: could not read ${environment}: ${reason}`));
    return { error: reason };
  }
});
