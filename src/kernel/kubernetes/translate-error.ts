import { ApiException } from './client-node';
import { errorCode } from '../http/error-code';
import { KubeError } from './errors';

// Apart from errors.ts so that modules deciding on a KubeError do not load client-node.

/** The `message` of a Kubernetes Status body, which client-node hands over as a raw string. */
function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return body.trim().slice(0, 200) || undefined;
  }
}

/** Turns whatever client-node threw while doing `what` into a KubeError. */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    const detail = statusMessage(err.body) ?? `HTTP ${err.code}`;
    switch (err.code) {
      case 404:
        return new KubeError('not-found', `${what}: not found (${detail})`, 404);
      case 403:
        return new KubeError(
          'forbidden',
          `${what}: the bot's Kubernetes identity is not allowed to (${detail}); grant it in the chart's Role`,
          403,
        );
      case 401:
        return new KubeError(
          'forbidden',
          `${what}: the cluster refused the bot's credentials (${detail})`,
          401,
        );
      case 409:
        return new KubeError(
          'conflict',
          `${what}: someone else changed it at the same moment (${detail})`,
          409,
        );
      case 400:
      case 422:
        return new KubeError('invalid', `${what}: the cluster refused it (${detail})`, err.code);
      default:
        return new KubeError(
          'unavailable',
          `${what}: the Kubernetes API answered ${err.code} (${detail})`,
          err.code,
        );
    }
  }
  // Not `instanceof Error`: client-node 2 aborts through undici, whose AbortError and
  // TimeoutError are DOMExceptions from Node's own realm (not this module's under Jest).
  const name = err && typeof err === 'object' ? String((err as { name?: unknown }).name ?? '') : '';
  if (name === 'AbortError' || name === 'TimeoutError' || errorCode(err) === 'ETIMEDOUT') {
    return new KubeError('timeout', `${what}: the Kubernetes API did not answer in time`);
  }
  const code = errorCode(err);
  const reason = code ?? (err instanceof Error ? err.message : String(err));
  return new KubeError('unavailable', `${what}: the Kubernetes API is unreachable (${reason})`);
}
