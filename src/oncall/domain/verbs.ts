import { ENV_ALIASES, type VerbSpec } from '../../commands/domain/words';

export const oncallVerb: VerbSpec = {
  verb: 'oncall',
  usage: 'oncall',
  summary: 'who is on call now, by escalation level (PagerDuty)',
  examples: ['/azora oncall'],
  parse: (w) => {
    // Every other verb names its environment, so fingers type one here too; PagerDuty's
    // on-call is the same for both, and the word is taken rather than refused.
    const word = w.peek();
    if (word !== undefined && ENV_ALIASES[word.toLowerCase()]) w.next();
    w.done();
    return { verb: 'oncall' };
  },
};
