import { Refusal } from '../../kernel/domain/refusal';
import { INCIDENT_SEVERITIES, type IncidentSeverity } from '../../config/policy';
import type { Command } from '../../commands/domain/types';
import type { VerbSpec } from '../../commands/domain/words';
import { NOTE_MAX, RESOLUTION_MAX } from './lifecycle';

export const incidentVerb: VerbSpec = {
  verb: 'incident',
  usage:
    'incident declare <sev1|sev2|sev3> <title> | note <text> | status <investigating|identified|monitoring> | commander <@user> | severity <sev> | timeline | resolve <summary> | list',
  summary:
    'declare an incident (its own channel, responders invited, a pinned summary, a timeline); in its channel: note, status, commander, severity, timeline, resolve with a postmortem draft',
  examples: ['/azora incident declare sev2 payment errors after the deploy', '/azora incident list'],
  parse: (w): Command => {
    const action = w.next()?.toLowerCase();
    const text = (missing: string, max = NOTE_MAX, what = 'that') => {
      const rest = w.rest().join(' ').trim();
      if (!rest) throw new Refusal('input', missing);
      if (rest.length > max)
        throw new Refusal(
          'input',
          `${what} is longer than ${String(max).replace(/\B(?=(\d{3})+$)/g, ',')} characters`,
        );
      return rest;
    };
    const severity = (word = w.next()?.toLowerCase()): IncidentSeverity => {
      if (!word || !(INCIDENT_SEVERITIES as readonly string[]).includes(word))
        throw new Refusal('input', `which severity? ${INCIDENT_SEVERITIES.join(', ')}`);
      return word as IncidentSeverity;
    };
    switch (action) {
      case 'declare': {
        const sev = severity();
        const title = text('declare it with a title: what is wrong, in a few words');
        if (title.length > 200) throw new Refusal('input', 'a title is at most 200 characters');
        return { verb: 'incident', action, severity: sev, title };
      }
      case 'note':
        return { verb: 'incident', action, text: text('note what? the text goes into the timeline') };
      case 'status': {
        const status = w.next()?.toLowerCase();
        if (status === 'resolved')
          throw new Refusal(
            'input',
            'resolve it with a summary: `/azora incident resolve <what happened and what fixed it>`',
          );
        if (status !== 'investigating' && status !== 'identified' && status !== 'monitoring')
          throw new Refusal('input', 'which status? investigating, identified or monitoring');
        w.done();
        return { verb: 'incident', action, status };
      }
      case 'commander': {
        // Slack's user ids are at most 21 characters; a longer one is no user, and would overrun the topic.
        const who = /^<@([UW][A-Z0-9]{2,20})(\|[^>]*)?>$|^([UW][A-Z0-9]{2,20})$/.exec(w.next() ?? '');
        if (!who) throw new Refusal('input', 'who commands it? mention them: `commander @name`');
        w.done();
        return { verb: 'incident', action, user: (who[1] ?? who[3])! };
      }
      case 'severity': {
        const sev = severity();
        w.done();
        return { verb: 'incident', action, severity: sev };
      }
      case 'resolve':
        return {
          verb: 'incident',
          action,
          summary: text(
            'resolve it with a summary: what happened and what fixed it',
            RESOLUTION_MAX,
            'a resolution (the rest goes in notes, which the postmortem lists)',
          ),
        };
      case 'list':
      case 'timeline':
        w.done();
        return { verb: 'incident', action };
      default:
        throw new Refusal(
          'input',
          'incident declare, note, status, commander, severity, timeline, resolve or list?',
        );
    }
  },
};
