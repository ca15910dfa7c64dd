import type { OpsRequest } from './domain/types';
import { planText } from './views';

/** A request's audit event: who did what to it, in which environment, with its plan as the detail unless told. */
export function auditOf(request: OpsRequest, type: string, actor: string, detail?: string) {
  return {
    type,
    request: request.id,
    actor,
    environment: request.environment,
    services: request.services,
    detail: detail ?? planText(request.plan),
  };
}
