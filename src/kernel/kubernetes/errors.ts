export type KubeErrorKind =
  | 'not-found'
  | 'forbidden'
  | 'conflict'
  | 'invalid'
  | 'precondition'
  /** The API did not answer a request in time. */
  | 'timeout'
  /**
   * What the bot waited for (a rollout, a scale, endpoints following a switch, a Job) did
   * not happen within its deadline: the API answered all along, and waiting the whole
   * deadline again on a retry would only tell the thread the same thing later.
   */
  | 'deadline'
  | 'unavailable';

/**
 * A Kubernetes failure as the bot reports it: a kind the jobs decide on (retry or not)
 * and a sentence an engineer at 3 AM can act on.
 */
export class KubeError extends Error {
  override readonly name = 'KubeError';
  constructor(
    readonly kind: KubeErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth retrying with backoff: the API was down, slow, or raced with another writer. */
  get transient(): boolean {
    return this.kind === 'timeout' || this.kind === 'unavailable' || this.kind === 'conflict';
  }
}
