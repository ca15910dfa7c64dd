import type { VerbSpec } from '../../commands/domain/words';

export const statusVerb: VerbSpec = {
  verb: 'status',
  usage: 'status <environment>',
  summary: 'deployments, replicas ready/desired, active colour, HPA bounds, pending approvals, running jobs',
  examples: ['/azora status production'],
  parse: (w) => {
    const environment = w.environment();
    w.done();
    return { verb: 'status', environment };
  },
};
