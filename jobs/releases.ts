import { defineJob } from '../src/deps';
import { releasesJob } from '../src/releases/contracts';
import { releasesNow } from '../src/releases/list';
import { releasesMessage } from '../src/releases/views';
import { md, note } from '../src/kernel/slack/blocks';

/** `/azora releases <env> [service]`: what runs now and the release history, to the person who asked. */
export const releasesProcessor = defineJob(
  releasesJob,
  async ({ environment, service, responseUrl }, ctx) => {
    try {
      const services = await releasesNow(ctx, environment, service);
      const perService = service ? ctx.policy.releases.history : 5;
      await ctx.messenger.respond(responseUrl, releasesMessage(environment, services, perService));
      return { services: services.length };
    } catch (err) {
      const reason = (err as Error).message;
      await ctx.messenger.respond(
        responseUrl,
        note(md`:x: could not read the releases of ${environment}: ${reason}`),
      );
      return { error: reason };
    }
  },
);
