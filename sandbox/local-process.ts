import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/*
 * What the sandbox's own servers (redis-server, prometheus-alertmanager) have in common:
 * finding the binary, a loopback port, and a log line to show when one fails to start.
 */

/** Where the first of `names` is on PATH, or undefined. */
export function findOnPath(names: string[], searchPath = process.env.PATH ?? ''): string | undefined {
  for (const name of names) {
    for (const dir of searchPath.split(path.delimiter)) {
      if (!dir) continue;
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  } catch {
    return 'no log';
  }
}
