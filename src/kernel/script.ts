import { createHash } from 'node:crypto';
import type { RedisClient } from './redis';

const shas = new Map<string, string>();

/**
 * Runs a Lua script by its SHA (EVALSHA), loading it with EVAL only when Redis does not
 * know it yet (a new or flushed server, a failover). The hot paths (the outbox's claims,
 * the access gate, the alert store) run a script per call: sending only 40 hex digits
 * instead of the script saves writing and hashing it every time.
 */
export async function runScript(
  redis: RedisClient,
  script: string,
  numKeys: number,
  ...args: (string | number)[]
): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (err) {
    if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script, numKeys, ...args);
  }
}
