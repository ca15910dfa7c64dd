import type { EventEmitter } from 'node:events';

/**
 * Resolves with the first item of `recorded` that satisfies `test`, waiting for `event`
 * on `emitter` if none does yet: how tests wait for a simulator to see a call.
 */
export function waitForRecorded<T>(
  emitter: EventEmitter,
  event: string,
  recorded: readonly T[],
  test: (item: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const found = recorded.find(test);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`${what}: nothing matching within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (item: T) => {
      if (!test(item)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(item);
    };
    emitter.on(event, listener);
  });
}
