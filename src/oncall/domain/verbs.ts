import type { VerbSpec } from '../../commands/domain/words';

export const oncallVerb: VerbSpec = {
  verb: 'oncall',
  usage: 'oncall',
  summary: 'who is on call now, by escalation level (PagerDuty)',
  examples: ['/azora oncall'],
  parse: (w) => {
    w.done();
    return { verb: 'oncall' };
  },
};
