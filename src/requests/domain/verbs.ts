import { Refusal } from '../../kernel/domain/refusal';
import type { Colour } from '../../commands/domain/types';
import { wholeNumber, type VerbSpec } from '../../commands/domain/words';

/** The verbs of change requests: scale, switch and rollback. */
export const scaleVerb: VerbSpec = {
  verb: 'scale',
  usage: 'scale <environment> <service> <replicas> [force]',
  summary: 'set the replica count (an HPA gets its bounds moved instead); force skips the cooldown',
  examples: ['/azora scale staging auth 4', '/azora scale production api-gateway 5'],
  parse: (w) => {
    const environment = w.environment();
    const service = w.service();
    const replicas = wholeNumber(w.next(), 'replicas', 0, 500);
    const force = w.peek()?.toLowerCase() === 'force';
    if (force) w.next();
    w.done();
    return { verb: 'scale', environment, service, replicas, force };
  },
};

export const switchVerb: VerbSpec = {
  verb: 'switch',
  usage: 'switch <environment> <blue|green> [service]',
  summary: 'blue/green: send traffic to the other colour once it is fully ready (all services by default)',
  examples: ['/azora switch production green', '/azora switch production blue payment'],
  parse: (w) => {
    const environment = w.environment();
    const colour = w.next()?.toLowerCase();
    if (colour !== 'blue' && colour !== 'green')
      throw new Refusal('input', 'switch to which colour? blue or green');
    const service = w.peek() === undefined ? undefined : w.service();
    w.done();
    return { verb: 'switch', environment, colour: colour as Colour, ...(service ? { service } : {}) };
  },
};

export const rollbackVerb: VerbSpec = {
  verb: 'rollback',
  usage: 'rollback <environment> [service] [to <revision>]',
  summary:
    'undo the last rollout (blue/green: back to the colour live before, while it still holds that version); all services by default',
  examples: ['/azora rollback production', '/azora rollback staging payment to 3'],
  parse: (w) => {
    const environment = w.environment();
    const next = w.peek();
    const service = next !== undefined && next.toLowerCase() !== 'to' ? w.service() : undefined;
    let toRevision: number | undefined;
    if (w.peek()?.toLowerCase() === 'to') {
      w.next();
      if (!service) throw new Refusal('input', 'rolling back to a revision needs a service');
      toRevision = wholeNumber(w.next(), 'the revision', 1, 1_000_000);
    }
    w.done();
    return {
      verb: 'rollback',
      environment,
      ...(service ? { service } : {}),
      ...(toRevision ? { toRevision } : {}),
    };
  },
};
