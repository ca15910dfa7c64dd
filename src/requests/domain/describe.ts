import { formatDuration } from '../../kernel/domain/duration';
import type { OpsRequest } from './types';

/** The command a request stands for, as someone would type it. */
export function commandText(request: OpsRequest): string {
  const { verb, environment, args } = request;
  const services = request.services.join(', ');
  switch (verb) {
    case 'scale':
      return `scale ${environment} ${services} ${args.replicas}${args.force ? ' force' : ''}`;
    case 'switch': {
      const targets = new Set(request.plan.flatMap((s) => (s.kind === 'switch' ? [s.to] : [])));
      // A switch back sends each service to its own colour: say which.
      if (targets.size > 1) {
        const each = request.plan.flatMap((s) => (s.kind === 'switch' ? [`${s.service} to ${s.to}`] : []));
        return `switch ${environment} ${each.join(', ')}`;
      }
      return `switch ${environment} ${args.colour} ${services}`;
    }
    case 'rollback':
      return `rollback ${environment} ${services}${args.toRevision ? ` to ${args.toRevision}` : ''}`;
    case 'restore':
      return `restore ${environment} ${args.backup ?? '?'}`;
    case 'deploy':
      return `deploy ${environment} ${services} ${args.version ?? '?'}${args.force ? ' force' : ''}`;
    case 'maintenance':
      return `maintenance ${args.maintenance ?? 'now'} ${environment}${args.windowId ? ` ${args.windowId}` : ''} ${formatDuration(args.durationMs ?? 0)} ${args.reason ?? ''}`.trim();
  }
}
