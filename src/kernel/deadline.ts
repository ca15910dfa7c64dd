/** A dependency did not answer in time. */
export class DeadlineExceeded extends Error {}

/**
 * `work`, or a DeadlineExceeded after `ms`: for a caller that must answer someone (an HTTP
 * client, a probe) even when a dependency hangs rather than fails. The work itself goes on.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
