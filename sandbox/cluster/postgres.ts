import { byKind } from './resources';
import type { ObjectStore } from './store';
import { commandOf, envOf, firstContainer } from './jobs';
import { arr, fnv32a, num, rec, str, type KubeObject } from './types';

/**
 * The PostgreSQL behind the backup and restore Jobs: one small database per namespace
 * (row counts per table, seeded from the namespace's name) and a backup volume per
 * PersistentVolumeClaim holding dump files by name. A Job pod running `/bin/sh
 * /scripts/backup.sh` or `restore.sh` (the chart's scripts, charts/azora-chatops/files/
 * scripts/) acts on them as those do: the same checks, the same pruning, the same lines
 * (progress, then what the bot parses: `azora-backup: ok file=… bytes=…`, `azora-verify: …`
 * and `azora-restore: ok file=…`, or `azora-<kind>: failed <reason>` and exit code 1). Any
 * other command exits 0 without output.
 */

export type DatabaseScript = 'backup' | 'restore';

/** A dump on a backup volume. */
export interface DumpFile {
  /** The file's name on the volume: `<backup id>.sql`. */
  name: string;
  bytes: number;
  /** Cluster clock, ms. */
  createdAt: number;
  /** The database's row counts when it was dumped: what a restore brings back. */
  tables: Record<string, number>;
}

/** The simulated databases and backup volumes, for tests and the sandbox. */
export interface SimulatedDatabase {
  /** Rows in the users table of the namespace's database (what the policy's verify query counts). */
  users(namespace: string): number;
  /** Sets that count, as if rows were added or lost. */
  setUsers(namespace: string, count: number): void;
  /** Row counts by table. */
  tables(namespace: string): Record<string, number>;
  /** The dumps on the volume of a PersistentVolumeClaim, newest first. */
  dumps(namespace: string, claim: string): DumpFile[];
  /** Puts a dump on a volume, as if an earlier backup had written it (its tables: the database's now, unless given). */
  addDump(
    namespace: string,
    claim: string,
    dump: { name: string; createdAt?: number; users?: number; bytes?: number },
  ): DumpFile;
  /** Removes a dump from a volume (someone cleaned up by hand); whether it was there. */
  removeDump(namespace: string, claim: string, name: string): boolean;
  /**
   * The next backup (or restore) to start fails where it connects, as the script reports
   * a client error: `azora-<kind>: failed dumping … : <error>` (default: the server is
   * shutting down).
   */
  failNext(kind: DatabaseScript, error?: string): void;
}

/** What a Job pod's container does: lines when it starts, then (when its time has come) the rest and an exit code. */
export interface ScriptRun {
  script?: DatabaseScript;
  start: string[];
  /** Set when the script ended as it started (a check before it connects failed): no waiting. */
  exit?: { exitCode: number; lines: string[] };
  finish(): { exitCode: number; lines: string[] };
}

const SERVICES = byKind('Service');
/** The databases the seeded PostgreSQL has (its StatefulSet's POSTGRES_DB, and the default one). */
const DATABASES = new Set(['azora', 'postgres']);
/** Bytes per row in a plain-format dump, roughly, by table; and per table for its DDL. */
const ROW_BYTES: Record<string, number> = { users: 187, courses: 1420, enrollments: 58 };
const TABLE_BYTES = 640;
const HEADER_BYTES = 2_048;

export class Postgres implements SimulatedDatabase {
  private readonly databases = new Map<string, Record<string, number>>();
  private readonly volumes = new Map<string, Map<string, DumpFile>>();
  /** Queued faults: the client error to report, or undefined for the default (the server shutting down). */
  private readonly faults: Record<DatabaseScript, Array<string | undefined>> = { backup: [], restore: [] };

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: () => number,
  ) {}

  users(namespace: string): number {
    return this.state(namespace).users ?? 0;
  }

  setUsers(namespace: string, count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new Error(`a row count is a whole number, not ${count}`);
    this.state(namespace).users = count;
  }

  tables(namespace: string): Record<string, number> {
    return { ...this.state(namespace) };
  }

  dumps(namespace: string, claim: string): DumpFile[] {
    return [...this.volume(`${namespace}/${claim}`).values()]
      .sort(newestFirst)
      .map((d) => ({ ...d, tables: { ...d.tables } }));
  }

  addDump(
    namespace: string,
    claim: string,
    dump: { name: string; createdAt?: number; users?: number; bytes?: number },
  ): DumpFile {
    const tables = { ...this.state(namespace), ...(dump.users !== undefined ? { users: dump.users } : {}) };
    const file: DumpFile = {
      name: dump.name,
      bytes: dump.bytes ?? dumpBytes(tables),
      createdAt: dump.createdAt ?? this.clock(),
      tables,
    };
    this.volume(`${namespace}/${claim}`).set(file.name, file);
    return { ...file, tables: { ...tables } };
  }

  removeDump(namespace: string, claim: string, name: string): boolean {
    return this.volume(`${namespace}/${claim}`).delete(name);
  }

  failNext(kind: DatabaseScript, error?: string): void {
    this.faults[kind].push(error);
  }

  /**
   * What the pod's container runs: one of the scripts, or anything else (which just exits
   * 0). The checks the scripts make before they connect end the run at once (`exit`); the
   * dump or the replay ends it when its time has come (`finish`).
   */
  start(pod: KubeObject): ScriptRun {
    const container = firstContainer(pod);
    const words = commandOf(container);
    const match = words.map((w) => /(?:^|\/)(backup|restore)\.sh$/.exec(w)).find((m) => m !== null);
    const script = match?.[1] as DatabaseScript | undefined;
    if (!script) return { start: [], finish: () => ({ exitCode: 0, lines: [] }) };
    const env = envOf(container);
    const c = this.contextOf(pod, env);
    const faulty = this.faults[script].length > 0;
    const fault = this.faults[script].shift();
    const problem = (tool: 'pg_dump' | 'psql'): string | undefined =>
      faulty
        ? (fault ??
          `${tool}: error: connection to server at "${c.host}", port ${c.port} failed: FATAL: the database system is shutting down`)
        : this.connectionProblem(c, tool);
    const say = (text: string) => `azora-${script}: ${text}`;
    const failed = (text: string) => ({ exitCode: 1, lines: [say(`failed ${text}`)] });
    const ended = (result: { exitCode: number; lines: string[] }): ScriptRun => ({
      script,
      start: [],
      exit: result,
      finish: () => result,
    });

    if (!isBackupId(c.id)) {
      return ended(
        failed('BACKUP_ID is not a backup id (azora-backup-<staging|production>-<yyyymmdd>-<hhmm>-<4 hex>)'),
      );
    }
    const file = `${c.dir}/${c.id}.sql`;
    const target = `${c.database} on ${c.host || 'local socket'}:${c.port} as ${c.user}`;
    if (script === 'backup') {
      if (!/^[1-9]\d*$/.test(c.keep))
        return ended(failed('BACKUP_KEEP must be a whole number of at least 1'));
      if (!c.mounted) return ended(failed(`${c.dir} is not a writable directory (the backups volume)`));
      if (this.volume(c.volume).has(`${c.id}.sql`)) {
        return ended(failed(`${file} exists already: a backup id is made once`));
      }
      const step = `dumping ${target}`;
      return {
        script,
        start: [say(`${step} into ${file}`)],
        finish: () => {
          const error = problem('pg_dump');
          if (error) return failed(`${step}: ${detail(error)}`);
          return this.backup(c, file);
        },
      };
    }
    const dump = this.volume(c.volume).get(`${c.id}.sql`);
    if (!dump) return ended(failed(`no backup ${c.id}: ${file} does not exist`));
    const step = `restoring ${file} into ${target}`;
    return {
      script,
      start: [say(`${step} (${dump.bytes} bytes, one transaction)`)],
      finish: () => {
        const error = problem('psql');
        if (error) return failed(`${step}: ${detail(error)}`);
        return this.restore(c, dump, file, env.VERIFY_QUERY || 'SELECT COUNT(*) FROM users;');
      },
    };
  }

  private backup(c: ScriptContext, file: string) {
    const say = (text: string) => `azora-backup: ${text}`;
    const tables = { ...this.state(c.namespace) };
    const volume = this.volume(c.volume);
    const dump: DumpFile = { name: `${c.id}.sql`, bytes: dumpBytes(tables), createdAt: this.clock(), tables };
    volume.set(dump.name, dump);
    const lines = [say(`wrote ${file} (${dump.bytes} bytes)`)];
    // As backup.sh: newest first by name (which sorts by time), this environment's only; a
    // dump goes once it is older than `keep` days (by the time in its name) and not among
    // the newest `keep`.
    const keep = Number(c.keep);
    const environment = c.id.replace(/^azora-backup-/, '').split('-')[0] ?? '';
    const cutoff = minuteStamp(this.clock() - keep * 86_400_000);
    let kept = 0;
    for (const name of [...volume.keys()].sort().reverse()) {
      const id = name.replace(/\.sql$/, '');
      if (name !== `${id}.sql` || !isBackupId(id) || !id.startsWith(`azora-backup-${environment}-`)) continue;
      const [day = '', minute = ''] = id.slice(`azora-backup-${environment}-`.length).split('-');
      if (id === c.id || kept < keep || `${day}${minute}` >= cutoff) {
        kept += 1;
        continue;
      }
      volume.delete(name);
      lines.push(say(`removed ${c.dir}/${name} (older than ${keep} days, and not among the newest ${keep})`));
    }
    lines.push(say(`ok file=${file} bytes=${dump.bytes}`));
    return { exitCode: 0, lines };
  }

  private restore(c: ScriptContext, dump: DumpFile, file: string, query: string) {
    const say = (text: string) => `azora-restore: ${text}`;
    this.databases.set(c.namespace, { ...dump.tables });
    const lines = [say(`restored ${file}`), say(`verifying: ${query}`)];
    const answer = this.query(c.namespace, query);
    if ('error' in answer) {
      lines.push(say(`failed restored ${file}, but the verify query failed: ${detail(answer.error)}`));
      return { exitCode: 1, lines };
    }
    lines.push(`azora-verify: ${answer.figure}`, say(`ok file=${file}`));
    return { exitCode: 0, lines };
  }

  /** The verify query's first figure: `SELECT COUNT(*) FROM <table>` or `SELECT <number>`. */
  private query(namespace: string, sql: string): { figure: string } | { error: string } {
    const count =
      /^\s*select\s+count\s*\(\s*\*\s*\)\s+from\s+(?:public\.)?"?([a-z_][a-z0-9_]*)"?\s*;?\s*$/i.exec(sql);
    if (count) {
      const table = (count[1] ?? '').toLowerCase();
      const rows = this.state(namespace)[table];
      if (rows === undefined) return { error: `ERROR: relation "${table}" does not exist` };
      return { figure: String(rows) };
    }
    const literal = /^\s*select\s+(-?\d+)\s*;?\s*$/i.exec(sql);
    if (literal) return { figure: literal[1] ?? '' };
    return { error: 'ERROR: the simulated database answers SELECT COUNT(*) FROM <table> only' };
  }

  /** Where the script connects and what it works on, from its environment and its pod's volumes. */
  private contextOf(pod: KubeObject, env: Record<string, string>): ScriptContext {
    const podNamespace = pod.metadata.namespace ?? 'default';
    const host = env.PGHOST ?? '';
    const [service = '', serviceNamespace] = host.split('.');
    const dir = env.BACKUP_DIR || '/backups';
    const claim = claimMountedAt(pod, dir.replace(/\/+$/, '') || '/');
    const user = env.PGUSER || 'azora';
    return {
      namespace: serviceNamespace && serviceNamespace !== 'svc' ? serviceNamespace : podNamespace,
      service,
      host,
      port: Number(env.PGPORT || '5432'),
      user,
      database: env.PGDATABASE || user,
      id: env.BACKUP_ID ?? '',
      keep: env.BACKUP_KEEP ?? '30',
      dir,
      mounted: claim !== undefined,
      // Without a claim the path is the container's own disk: nothing is there, nothing stays.
      volume: claim ? `${podNamespace}/${claim}` : `pod/${pod.metadata.uid}`,
    };
  }

  /** Why the client cannot reach the database, as pg_dump or psql says it; undefined when it can. */
  private connectionProblem(c: ScriptContext, tool: 'pg_dump' | 'psql'): string | undefined {
    if (!c.host) {
      return `${tool}: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.${c.port}" failed: No such file or directory`;
    }
    const svc = this.store.peek(SERVICES, c.namespace, c.service);
    if (!svc) {
      return `${tool}: error: could not translate host name "${c.host}" to address: Name or service not known`;
    }
    const ip = str(rec(svc.spec).clusterIP);
    const at = `connection to server at "${c.host}"${ip && ip !== 'None' ? ` (${ip})` : ''}, port ${c.port} failed`;
    const ports = arr(rec(svc.spec).ports).map((p) => num(rec(p).port));
    if (ports.length > 0 && !ports.includes(c.port)) {
      return `${tool}: error: ${at}: Connection refused Is the server running on that host and accepting TCP/IP connections?`;
    }
    if (!DATABASES.has(c.database))
      return `${tool}: error: ${at}: FATAL: database "${c.database}" does not exist`;
    return undefined;
  }

  private state(namespace: string): Record<string, number> {
    let tables = this.databases.get(namespace);
    if (!tables) {
      tables = seedTables(namespace);
      this.databases.set(namespace, tables);
    }
    return tables;
  }

  private volume(key: string): Map<string, DumpFile> {
    let volume = this.volumes.get(key);
    if (!volume) {
      volume = new Map();
      this.volumes.set(key, volume);
    }
    return volume;
  }
}

interface ScriptContext {
  /** The namespace whose database the script talks to. */
  namespace: string;
  service: string;
  /** PGHOST ('' for the local socket). */
  host: string;
  port: number;
  user: string;
  database: string;
  /** BACKUP_ID, BACKUP_KEEP as given. */
  id: string;
  keep: string;
  /** BACKUP_DIR. */
  dir: string;
  /** Whether a PersistentVolumeClaim is mounted at `dir`. */
  mounted: boolean;
  /** The key of the volume at `dir`. */
  volume: string;
}

const BACKUP_ID = /^azora-backup-(staging|production)-\d{8}-\d{4}-[0-9a-f]{4}$/;
const isBackupId = (id: string): boolean => BACKUP_ID.test(id);

/** A client's error as the scripts put it on their failed line: one line, spaces squeezed, 160 characters. */
function detail(text: string): string {
  return text
    .replace(/[\r\n\t]/g, ' ')
    .replace(/ +/g, ' ')
    .slice(0, 160);
}

/** The same counts for the same namespace on every start. */
function seedTables(namespace: string): Record<string, number> {
  const h = fnv32a(`postgres/${namespace}`);
  const users = 1_000 + (h % 9_000);
  return {
    users,
    courses: 40 + ((h >>> 8) % 160),
    enrollments: users * 3 + ((h >>> 4) % 1_000),
  };
}

/** A plain-format dump's size: a header, each table's DDL and its rows. */
function dumpBytes(tables: Record<string, number>): number {
  return Object.entries(tables).reduce(
    (bytes, [table, rows]) => bytes + TABLE_BYTES + rows * (ROW_BYTES[table] ?? 100),
    HEADER_BYTES,
  );
}

/** `yyyymmddhhmm` in UTC, as backup.sh compares a dump's time with its cutoff. */
const minuteStamp = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, '');

function newestFirst(a: DumpFile, b: DumpFile): number {
  return b.createdAt - a.createdAt || b.name.localeCompare(a.name);
}

/** The claim of the volume mounted at `dir` in the pod's first container. */
function claimMountedAt(pod: KubeObject, dir: string): string | undefined {
  const mount = arr(firstContainer(pod).volumeMounts)
    .map(rec)
    .find((m) => (str(m.mountPath) ?? '').replace(/\/+$/, '') === dir);
  const volumeName = str(mount?.name);
  if (!volumeName) return undefined;
  const volume = arr(rec(pod.spec).volumes)
    .map(rec)
    .find((v) => v.name === volumeName);
  return str(rec(volume?.persistentVolumeClaim).claimName);
}
