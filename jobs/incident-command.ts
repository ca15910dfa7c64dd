import { defineJob } from '../src/deps';
import { parentKey } from '../src/alerts/domain/group';
import { incidentCommandJob } from '../src/incidents/contracts';
import { declare } from '../src/incidents/declare';
import { scheduleNudge } from '../src/incidents/nudge';
import { addNote, incidentOfChannel, resolve, update } from '../src/incidents/run';
import { pageIfRaised } from '../src/incidents/responders';
import { declaredAnswer, incidentListMessage, timelineMessage } from '../src/incidents/views';
import { Refusal } from '../src/kernel/domain/refusal';
import { md, note, withMentions } from '../src/kernel/slack/blocks';

/** `/azora incident …`: each action in the incident's own use case; refusals answered to the person alone. */
export const incidentCommandProcessor = defineJob(incidentCommandJob, async (payload, ctx) => {
  const { command, requester, channel, responseUrl, seed } = payload;
  const say = (text: Parameters<typeof note>[0]) => ctx.messenger.respond(responseUrl, note(text));
  try {
    switch (command.action) {
      case 'declare': {
        const { incident, created } = await declare(ctx, { ...command, requester, seed });
        // Also on a retry that finds the incident made: the nudge's job id makes it one.
        await scheduleNudge(ctx, incident);
        await ctx.messenger.respond(responseUrl, declaredAnswer(incident));
        const group = command.alertGroup ? await ctx.alerts.get(command.alertGroup) : undefined;
        // The alert's thread links to the incident's channel.
        if (group && !group.digest)
          await ctx.outbox.reply(
            group.channel,
            parentKey(group),
            declaredAnswer(incident),
            `${group.id}-${group.episode}-incident`,
          );
        return { incident: incident.id, created };
      }
      case 'list':
        await ctx.messenger.respond(responseUrl, incidentListMessage(await ctx.incidents.recent(30)));
        return { listed: true };
      case 'note': {
        const incident = await incidentOfChannel(ctx, channel);
        await addNote(ctx, incident, command.text, requester, `note:${ctx.job.id}`);
        await say(':pushpin: Noted in the timeline.');
        return { incident: incident.id };
      }
      case 'timeline': {
        const incident = await incidentOfChannel(ctx, channel);
        const timeline = await ctx.incidents.timeline(incident.id);
        await ctx.messenger.respond(responseUrl, timelineMessage(incident, timeline));
        return { incident: incident.id, entries: timeline.entries.length };
      }
      case 'resolve': {
        const incident = await incidentOfChannel(ctx, channel);
        await resolve(ctx, incident, command.summary, requester, ctx.job.attemptsMade > 0);
        return { incident: incident.id, resolved: true };
      }
      default: {
        const incident = await incidentOfChannel(ctx, channel);
        const change =
          command.action === 'status'
            ? { kind: 'status' as const, status: command.status }
            : command.action === 'severity'
              ? { kind: 'severity' as const, severity: command.severity }
              : { kind: 'commander' as const, user: command.user };
        // A retry after the raise was saved (paging it failed) pages now, rather than be
        // refused as the severity it already is.
        const saved =
          change.kind === 'severity' && ctx.job.attemptsMade > 0 && incident.severity === change.severity;
        const updated = saved ? incident : await update(ctx, incident, change, requester);
        await scheduleNudge(ctx, change.kind === 'severity' ? await pageIfRaised(ctx, updated) : updated);
        return { incident: incident.id };
      }
    }
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    await say(md`:no_entry: ${withMentions(err.reason)}`);
    return { refused: err.reason };
  }
});
