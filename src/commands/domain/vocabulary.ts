import type { Policy } from '../../config/policy';
import type { EnvironmentName, Vocabulary } from './types';

/** The names the command parser accepts, from the policy. */
export function vocabularyOf(policy: Policy): Vocabulary {
  return {
    environments: Object.keys(policy.environments) as EnvironmentName[],
    services: Object.keys(policy.services),
  };
}
