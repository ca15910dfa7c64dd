import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';

/** One command as Redis's MONITOR reported it: when (wall-clock ms, µs precision), what, and from which connection. */
export interface Seen {
  at: number;
  args: string[];
  /** `127.0.0.1:port` of the client's connection; `lua` for a command a script ran. */
  source: string;
}

/**
 * MONITOR on the benchmark's own Redis: every command any client sends, as Redis runs it.
 * Over a socket of its own: ioredis's monitor() can take the first monitored line for a
 * reply when it comes in the same packet as MONITOR's +OK (a busy Redis), and fails.
 */
export async function monitorRedis(url: string): Promise<{ seen: Seen[]; stop(): Promise<void> }> {
  await loadBullmqScriptNames();
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const seen: Seen[] = [];
  let buffered = '';
  let monitoring: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (monitoring = resolve));
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (buffered + chunk).split('\r\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '+OK') monitoring();
      const parsed = /^\+(\d+)\.(\d+) \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (!parsed) continue;
      const [, s, us, source, rest] = parsed as unknown as [string, string, string, string, string];
      seen.push({ at: Number(s) * 1000 + Number(us.padEnd(6, '0')) / 1000, args: quotedArgs(rest), source });
    }
  });
  socket.write('MONITOR\r\n');
  await started;
  return {
    seen,
    async stop() {
      socket.end();
      socket.destroy();
    },
  };
}

/** MONITOR's arguments: double-quoted, with \\, \", \n, \r, \t, \a, \b and \xNN escapes. */
function quotedArgs(text: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"/g;
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };
  for (const [, quoted] of text.matchAll(pattern))
    args.push(
      quoted!.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
        e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (escapes[e] ?? e),
      ),
    );
  return args;
}

/**
 * The local addresses (`127.0.0.1:port`) of a process's TCP connections to `redisPort`:
 * its sockets' inodes (/proc/<pid>/fd) found in /proc/<pid>/net/tcp. MONITOR names a
 * client by that address, so this tells the web role's commands from the worker's.
 */
export function redisClientsOf(pid: number, redisPort: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const clients = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, remote, inode] = [fields[1], fields[2], fields[9]];
    if (!local || !remote || !inode || !inodes.has(inode)) continue;
    if (parseInt(remote.split(':')[1]!, 16) !== redisPort) continue;
    clients.add(`127.0.0.1:${parseInt(local.split(':')[1]!, 16)}`);
  }
  return clients;
}

/** BullMQ's Lua scripts by the SHA1 ioredis sends them under (EVALSHA), named as BullMQ names them. */
const bullmqScripts = new Map<string, string>();

async function loadBullmqScriptNames(): Promise<void> {
  if (bullmqScripts.size > 0) return;
  const dir = path.join(path.dirname(require.resolve('bullmq')), 'scripts');
  for (const file of readdirSync(dir).filter((f) => /-\d+\.js$/.test(f))) {
    const exported = (await import(path.join(dir, file))) as Record<
      string,
      { name: string; content: string }
    >;
    const script = exported[file.replace(/-\d+\.js$/, '')];
    if (script) bullmqScripts.set(createHash('sha1').update(script.content).digest('hex'), script.name);
  }
}

/** A key without the run's prefix, its id-like segments (any with a digit) as `*`: `request:*`, `alerts:new:*`. */
export function keyPattern(key: string | undefined): string {
  if (!key) return '';
  const unprefixed = key.startsWith('{') ? key.slice(key.indexOf('}:') + 2) : key;
  return unprefixed
    .split(':')
    .map((segment) => (/\d/.test(segment) ? '*' : segment))
    .join(':');
}

/** What a command is, for counting: BullMQ's scripts by name, the bot's scripts and commands by their first key. */
export function commandLabel(args: string[]): string {
  const name = (args[0] ?? '').toUpperCase();
  if (name === 'EVALSHA') {
    const bullmq = bullmqScripts.get(args[1] ?? '');
    return bullmq ? `bullmq ${bullmq}` : `EVALSHA ${keyPattern(args[3])}`;
  }
  if (name === 'EVAL') return `EVAL ${keyPattern(args[3])}`;
  return `${name} ${keyPattern(args[1])}`.trim();
}

/**
 * The round trips the clients at `sources` made, labelled: a MULTI … EXEC block (ioredis
 * sends it as one write) is one, any other command is one. Commands a script ran are not
 * round trips and are left out.
 */
export function roundTrips(seen: readonly Seen[], sources: ReadonlySet<string>): string[] {
  const open = new Map<string, string[]>();
  const trips: string[] = [];
  for (const { args, source } of seen) {
    if (!sources.has(source)) continue;
    const name = (args[0] ?? '').toUpperCase();
    const block = open.get(source);
    if (name === 'MULTI') open.set(source, []);
    else if (name === 'EXEC' && block) {
      trips.push(`MULTI ${[...new Set(block)].join(', ')}`);
      open.delete(source);
    } else if (block) block.push(commandLabel(args));
    else trips.push(commandLabel(args));
  }
  return trips;
}

/** Counts each label, most frequent first. */
export function tally(labels: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** A span of wall-clock ms. */
export interface Span {
  from: number;
  to: number;
}

/**
 * Round trips per unit of work (`count` notifications or jobs) that the clients at
 * `sources` made during `busy`, by label. What they send when nothing happens (BullMQ's
 * blocking waits, the outbox's polls) is counted in too; `idlePerSecond` says how much
 * that is, from the rate during `idle`.
 */
export function perUnit(
  seen: readonly Seen[],
  sources: ReadonlySet<string>,
  idle: Span,
  busy: Span,
  count: number,
) {
  const within = ({ from, to }: Span) => seen.filter((s) => s.at >= from && s.at <= to);
  const net = tally(roundTrips(within(busy), sources)).map(([label, n]): [string, number] => [
    label,
    n / count,
  ]);
  return {
    net,
    total: net.reduce((sum, [, n]) => sum + n, 0),
    idlePerSecond: roundTrips(within(idle), sources).length / ((idle.to - idle.from) / 1000),
  };
}
