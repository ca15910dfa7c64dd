import { ConfigError } from '../../config/errors';
import { errorCode } from './error-code';

/**
 * A port the process cannot listen on is the operator's to fix: one line naming PORT
 * rather than a stack trace. Any other failure is left as it is.
 */
export function listenError(err: unknown, port: number): unknown {
  const code = errorCode(err);
  if (code === 'EADDRINUSE') return new ConfigError(`environment PORT: ${port} is already in use`);
  if (code === 'EACCES')
    return new ConfigError(
      `environment PORT: not allowed to listen on ${port} (below 1024 needs privileges)`,
    );
  return err;
}
