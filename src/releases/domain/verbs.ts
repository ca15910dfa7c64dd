import { Refusal } from '../../kernel/domain/refusal';
import type { VerbSpec } from '../../commands/domain/words';

/** The verbs of releases: deploy and the history. */
export const deployVerb: VerbSpec = {
  verb: 'deploy',
  usage: 'deploy <environment> <service> <version> [force]',
  summary:
    "put a version (a tag or digest of the service's image in the policy) on a service: rolling in staging; in production onto the idle colour, checked, then switched",
  examples: ['/azora deploy staging payment v1.6.0', '/azora deploy production payment v1.6.0'],
  parse: (w) => {
    const environment = w.environment();
    const service = w.service();
    const version = w.next();
    if (version === undefined || version.toLowerCase() === 'force')
      throw new Refusal('input', 'deploy which version? a tag such as v1.6.0, or a digest sha256:…');
    if (version.length > 300) throw new Refusal('input', 'that version is longer than any image reference');
    const force = w.peek()?.toLowerCase() === 'force';
    if (force) w.next();
    w.done();
    return { verb: 'deploy', environment, service, version, force };
  },
};

export const releasesVerb: VerbSpec = {
  verb: 'releases',
  usage: 'releases <environment> [service]',
  summary: 'release history: version, image, colour, who asked and approved, when, and how it ended',
  examples: ['/azora releases production', '/azora releases production payment'],
  parse: (w) => {
    const environment = w.environment();
    const service = w.peek() === undefined ? undefined : w.service();
    w.done();
    return { verb: 'releases', environment, ...(service ? { service } : {}) };
  },
};
