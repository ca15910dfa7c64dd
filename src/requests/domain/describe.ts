import { formatDuration } from '../../kernel/domain/duration';
import type { OpsRequest } from './types';

/** The command a request stands for, as someone would type it. */
export function commandText(request: OpsRequest): string {
  const { verb, environment, args } = request;
  const services = request.services.join(', ');
  switch (verb) {
    case 'scale':
      return `scale ${environment} ${services} ${args.replicas}${args.force ? ' force' : ''}`;
    case 'switch':
      return `switch ${environment} ${args.colour} ${services}`;
    case 'rollback':
      return `rollback ${environment} ${services}${args.toRevision ? ` to ${args.toRevision}` : ''}`;
    case 'maintenance':
      return `maintenance ${args.maintenance ?? 'now'} ${environment}${args.windowId ? ` ${args.windowId}` : ''} ${formatDuration(args.durationMs ?? 0)} ${args.reason ?? ''}`.trim();
  }
}
