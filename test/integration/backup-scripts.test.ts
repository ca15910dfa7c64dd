import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BackupPolicy } from '../../src/config/policy';
import {
  databaseJob,
  databaseJobName,
  parseScriptReport,
  type DatabaseJobKind,
  type ScriptReport,
} from '../../src/backups/domain/job';
import { freePort } from '../kit/redis-server';
import { waitFor } from '../kit/wait';

/**
 * The chart's backup.sh and restore.sh (charts/azora-chatops/files/scripts/, the ConfigMap
 * the bot's Jobs mount at /scripts), run for real with /bin/sh against the local
 * PostgreSQL 15 (127.0.0.1:5432, trust auth; test/setup/prerequisites.sh starts it), with
 * the command and environment databaseJob() gives the Job's container. What they print is
 * read with parseScriptReport, as the bot reads the Job's log: the contract end to end.
 */

const SCRIPTS = path.resolve(__dirname, '../../charts/azora-chatops/files/scripts');
const HOST = '127.0.0.1';
const PORT = 5432;
const ROWS = 137;
/** What the Secret would hold: trust auth ignores it, and no output may show it. */
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

const suffix = randomBytes(4).toString('hex');
const DB = `azora_test_${suffix}`;
const ROLE = `azora_test_${suffix}`;

interface Psql {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** psql with no password prompt and no ~/.psqlrc; the query's rows as `a|b` lines. */
function psql(sql: string, { user = ROLE, db = DB } = {}): Psql {
  const result = spawnSync(
    'psql',
    [
      '-h',
      HOST,
      '-p',
      String(PORT),
      '-U',
      user,
      '-d',
      db,
      '-X',
      '-w',
      '-v',
      'ON_ERROR_STOP=1',
      '-tA',
      '-c',
      sql,
    ],
    { encoding: 'utf8', timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function sql(text: string, options?: { user?: string; db?: string }): string {
  const result = psql(text, options);
  if (result.status !== 0) throw new Error(`psql failed (${text}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

const admin = (text: string) => sql(text, { user: 'postgres', db: 'postgres' });

/** The users table as a fingerprint: row count and a digest of every row, in order. */
const usersState = () =>
  sql(
    `SELECT COUNT(*) || ':' || COALESCE(md5(string_agg(id || '/' || name, ',' ORDER BY id)), '') FROM users`,
  );

let sequence = 0;
/** A backup id as the bot makes them (databaseJobName), a minute apart per call: sortable by time. */
function backupId(env: 'staging' | 'production' = 'staging', from = Date.UTC(2026, 11, 2, 2, 0)): string {
  const at = from + sequence++ * 60_000;
  return databaseJobName('backup', env, at, randomBytes(2).toString('hex'));
}

/** The environment's template, as the policy would give it for this database. */
const TEMPLATE: BackupPolicy = {
  image: 'postgres:15',
  runAsUser: 999,
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  database: { host: HOST, port: PORT, name: DB, user: ROLE },
  passwordSecret: { name: 'azora-postgres', key: 'password' },
  claim: 'azora-backups',
  scripts: 'azora-chatops-backup-scripts',
  schedule: '02:00',
  keep: 30,
  verify: 'SELECT COUNT(*) FROM users;',
  deadline: 30 * 60_000,
};

const dirs: string[] = [];

interface Container {
  command: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stdout. */
  last: string;
  report: ScriptReport | undefined;
}

interface JobOptions {
  id: string;
  /** Where the claim is mounted (BACKUP_DIR). */
  dir: string;
  template?: Partial<BackupPolicy>;
  /** Variables set over the Job's. */
  env?: Record<string, string>;
}

/**
 * What the Job's container would run: its command, with the scripts' mount at the chart's
 * folder, its environment (the Secret's key resolved to PASSWORD), and the claim's mount at
 * `dir`. Nothing of this process's environment (PG* variables) leaks in; TMPDIR is a folder
 * of the run's own, so leftovers show.
 */
function jobProcess(kind: DatabaseJobKind, options: JobOptions) {
  const template = { ...TEMPLATE, ...options.template };
  const job = databaseJob({
    kind,
    name: options.id.replace(/^azora-backup-/, `azora-${kind}-`),
    environment: 'staging',
    namespace: 'azora-staging',
    template,
    backupId: options.id,
    request: 'r-test',
  });
  const container = (job.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0]!;
  const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, m.mountPath]));
  const scratch = mkdtempSync(path.join(tmpdir(), 'azora-scripts-tmp-'));
  dirs.push(scratch);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: scratch };
  for (const variable of container.env) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.secretKeyRef) {
      expect(variable.valueFrom.secretKeyRef).toEqual(TEMPLATE.passwordSecret);
      env[variable.name] = PASSWORD;
    }
  }
  expect(env.BACKUP_DIR).toBe(mounts.backups);
  env.BACKUP_DIR = options.dir;
  Object.assign(env, options.env);

  const [shell, script, ...rest] = container.command;
  expect(shell).toBe('/bin/sh');
  expect(path.dirname(script!)).toBe(mounts.scripts);
  return { command: shell!, args: [path.join(SCRIPTS, path.basename(script!)), ...rest], env, scratch };
}

/** What a run printed, read as the bot reads the Job's log; the password nowhere, no temporary file left. */
function finished(
  kind: DatabaseJobKind,
  scratch: string,
  status: number | null,
  stdout: string,
  stderr: string,
): Run {
  expect(`${stdout}${stderr}`).not.toContain(PASSWORD);
  expect(readdirSync(scratch)).toEqual([]);
  return {
    status,
    stdout,
    stderr,
    last: stdout.trimEnd().split('\n').at(-1) ?? '',
    report: parseScriptReport(kind, stdout),
  };
}

function runJob(kind: DatabaseJobKind, options: JobOptions): Run {
  const { command, args, env, scratch } = jobProcess(kind, options);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, env });
  if (result.error) throw result.error;
  return finished(kind, scratch, result.status, result.stdout, result.stderr);
}

/** Starts the Job's process, sends it SIGTERM (the Job's deadline) once `ready` holds, and waits for its end. */
async function terminateJob(
  kind: DatabaseJobKind,
  options: JobOptions,
  ready: (stdout: string) => boolean,
): Promise<{ run: Run; ms: number }> {
  const { command, args, env, scratch } = jobProcess(kind, options);
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await waitFor(
    () => ready(stdout),
    (yes) => yes,
    { timeoutMs: 5_000, what: `${kind}.sh to get going` },
  );
  const sent = Date.now();
  child.kill('SIGTERM');
  const status = await exited;
  return { run: finished(kind, scratch, status, stdout, stderr), ms: Date.now() - sent };
}

function backupDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-backups-'));
  dirs.push(dir);
  return dir;
}

const files = (dir: string) => readdirSync(dir).sort();

function backup(dir: string, id = backupId(), template?: Partial<BackupPolicy>): Run {
  const run = runJob('backup', { id, dir, template });
  expect({ status: run.status, last: run.last, stderr: run.stderr }).toEqual({
    status: 0,
    last: `azora-backup: ok file=${dir}/${id}.sql bytes=${statSync(path.join(dir, `${id}.sql`)).size}`,
    stderr: '',
  });
  return run;
}

/** A failed run: exit 1, the failed line last, and the report the bot would post. */
function expectFailed(run: Run, kind: DatabaseJobKind, reason: string | RegExp) {
  expect(run.status).toBe(1);
  expect(run.last).toMatch(new RegExp(`^azora-${kind}: failed `));
  expect(run.report).toEqual({ ok: false, reason: expect.stringMatching(reason) });
}

beforeAll(() => {
  const ready = psql('SELECT 1', { user: 'postgres', db: 'postgres' });
  if (ready.status !== 0) {
    throw new Error(
      `PostgreSQL does not answer on ${HOST}:${PORT} as postgres (${ready.stderr.trim()}): ` +
        'run test/setup/prerequisites.sh (npm test does), which installs and starts it',
    );
  }
  admin(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
  admin(`CREATE DATABASE ${DB} OWNER ${ROLE}`);
});

beforeEach(() => {
  // A fresh schema per test, made by the role the scripts run as (the guide's `azora`).
  sql(`DROP TABLE IF EXISTS orders, users CASCADE`);
  sql(
    `CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now());
     CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), total numeric(10,2));
     INSERT INTO users (name) SELECT 'user-' || g FROM generate_series(1, ${ROWS}) g;
     INSERT INTO orders (user_id, total) SELECT g, g * 1.5 FROM generate_series(1, ${ROWS}, 3) g;`,
  );
});

afterAll(() => {
  try {
    admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    admin(`DROP ROLE IF EXISTS ${ROLE}`);
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

describe('backup.sh and restore.sh (the chart ConfigMap), run as the Job runs them', () => {
  it('backs up with pg_dump and restores over the damaged database: the verify line is the count before', () => {
    const dir = backupDir();
    const before = usersState();
    const id = backupId();
    const made = backup(dir, id);
    const file = path.join(dir, `${id}.sql`);
    expect(made.report).toEqual({ ok: true, file, bytes: statSync(file).size });
    expect(made.stdout).toContain(`azora-backup: dumping ${DB} on ${HOST}:${PORT} as ${ROLE}`);
    // Complete, replayable over the database, and no temporary file left behind.
    const dump = readFileSync(file, 'utf8');
    expect(dump).toContain('-- PostgreSQL database dump complete');
    expect(dump).toContain('DROP TABLE IF EXISTS public.users;');
    expect(files(dir)).toEqual([`${id}.sql`]);

    // Rows lost, rows added, a table dropped: the restore puts back exactly the backup.
    sql(
      `DELETE FROM orders; DELETE FROM users WHERE id > 10; INSERT INTO users (name) VALUES ('after-backup')`,
    );
    expect(sql('SELECT COUNT(*) FROM users')).toBe('11');
    const restored = runJob('restore', { id, dir });
    expect(restored.status).toBe(0);
    expect(restored.stdout.trimEnd().split('\n').slice(-2)).toEqual([
      `azora-verify: ${ROWS}`,
      `azora-restore: ok file=${file}`,
    ]);
    expect(restored.report).toEqual({ ok: true, file, verify: String(ROWS) });
    expect(usersState()).toBe(before);
    expect(sql('SELECT COUNT(*) FROM orders')).toBe(String(Math.ceil(ROWS / 3)));

    sql('DROP TABLE orders, users');
    const again = runJob('restore', { id, dir });
    expect(again.report).toEqual({ ok: true, file, verify: String(ROWS) });
    expect(usersState()).toBe(before);
    // The sequence came back too: a new user gets the next id.
    expect(
      sql(`WITH added AS (INSERT INTO users (name) VALUES ('next') RETURNING id) SELECT id FROM added`),
    ).toBe(String(ROWS + 1));
  });

  it('reports the first field of the first row of the verify query, and what it is when there is none', () => {
    const dir = backupDir();
    const id = backupId();
    backup(dir, id);
    const verify = (query: string) => runJob('restore', { id, dir, template: { verify: query } }).report;
    expect(verify(`SELECT name, id FROM users ORDER BY id DESC`)).toMatchObject({
      ok: true,
      verify: `user-${ROWS}`,
    });
    expect(verify(`SELECT name FROM users WHERE id < 0`)).toMatchObject({ ok: true, verify: '(no rows)' });
    expect(verify(`SELECT NULL`)).toMatchObject({ ok: true, verify: '(empty)' });
    // Restored, but the check failed: reported as a failure, with the server's error.
    const broken = runJob('restore', { id, dir, template: { verify: 'SELECT nope FROM users' } });
    expectFailed(broken, 'restore', /but the verify query failed: ERROR: column "nope" does not exist/);
  });

  it('keeps BACKUP_KEEP days of dumps of the environment, at least the newest BACKUP_KEEP, and nothing else is touched', () => {
    const dir = backupDir();
    const other = `${backupId('production')}.sql`;
    writeFileSync(path.join(dir, other), '-- production\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'kept\n');
    // Weeks old: past the 2 days, so only the newest 2 stay.
    const old = Date.now() - 20 * 86_400_000;
    const ids = [backupId('staging', old), backupId('staging', old), backupId('staging', old)];
    const runs = ids.map((id) => backup(dir, id, { keep: 2 }));
    expect(runs[2]!.stdout).toContain(
      `azora-backup: removed ${dir}/${ids[0]}.sql (older than 2 days, and not among the newest 2)`,
    );
    expect(files(dir)).toEqual([`${ids[1]}.sql`, `${ids[2]}.sql`, other, 'notes.txt'].sort());
    // An id is made once: a second backup under it is refused and the dump stays.
    const size = statSync(path.join(dir, `${ids[2]}.sql`)).size;
    const twice = runJob('backup', { id: ids[2]!, dir });
    expectFailed(twice, 'backup', /exists already/);
    expect(statSync(path.join(dir, `${ids[2]}.sql`)).size).toBe(size);
  });

  it('never removes a dump younger than BACKUP_KEEP days, however many were taken since', () => {
    const dir = backupDir();
    // A busy day: four deploys, each with its backup first, within the last hours.
    const recent = Date.now() - 6 * 3_600_000;
    const ids = [1, 2, 3, 4].map(() => backupId('staging', recent));
    for (const id of ids) backup(dir, id, { keep: 2 });
    expect(files(dir)).toEqual(ids.map((id) => `${id}.sql`).sort());
  });

  it('refuses to restore a missing or malformed id with the failed line and exit 1, and changes nothing', () => {
    const dir = backupDir();
    const id = backupId();
    backup(dir, id);
    sql(`DELETE FROM users WHERE id > 50 AND id NOT IN (SELECT user_id FROM orders)`);
    const state = usersState();
    const missing = runJob('restore', { id: backupId(), dir });
    expectFailed(
      missing,
      'restore',
      /^no backup azora-backup-staging-\d{8}-\d{4}-[0-9a-f]{4}: .* does not exist$/,
    );
    for (const bad of [
      '',
      '../../etc/passwd',
      `${id}.sql`,
      id.toUpperCase(),
      `${id}; DROP TABLE users`,
      `${id}\n${id}`,
      id.replace('staging', 'qa'),
      `azora-backup-staging-2026120-0200-abcd`,
      `azora-restore-staging-20261202-0200-abcd`,
    ]) {
      const run = runJob('restore', { id: bad, dir, env: { BACKUP_ID: bad } });
      expect({ bad, status: run.status }).toEqual({ bad, status: 1 });
      expectFailed(run, 'restore', /^BACKUP_ID is not a backup id/);
    }
    expect(usersState()).toBe(state);
  });

  it('refuses an incomplete dump, and rolls back a dump that fails half-way: one transaction', () => {
    const dir = backupDir();
    const id = backupId();
    backup(dir, id);
    const file = path.join(dir, `${id}.sql`);
    const dump = readFileSync(file, 'utf8');
    sql(`DELETE FROM orders; DELETE FROM users WHERE id > 5`);
    const state = usersState();

    // Cut short (a full volume, a killed pg_dump): no end-of-dump marker, not even read.
    writeFileSync(file, dump.slice(0, Math.floor(dump.length / 2)));
    expectFailed(runJob('restore', { id, dir }), 'restore', /has no end-of-dump marker/);
    expect(usersState()).toBe(state);

    // Complete, but an error after its DROP TABLEs: everything before it is rolled back.
    const copy = dump.indexOf('COPY public.users');
    expect(copy).toBeGreaterThan(dump.indexOf('DROP TABLE IF EXISTS public.users'));
    writeFileSync(file, `${dump.slice(0, copy)}SELECT 1/0;\n${dump.slice(copy)}`);
    const failed = runJob('restore', { id, dir });
    expectFailed(failed, 'restore', /^restoring .*: line \d+: ERROR: division by zero$/);
    expect(failed.stdout).not.toContain('azora-verify:');
    expect(usersState()).toBe(state);
  });

  it('fails cleanly when the database does not answer: the failed line with the reason, no file, no leftovers', async () => {
    const dir = backupDir();
    const port = await freePort();
    const run = runJob('backup', {
      id: backupId(),
      dir,
      template: { database: { ...TEMPLATE.database, port } },
    });
    expectFailed(
      run,
      'backup',
      new RegExp(`^dumping ${DB} on ${HOST}:${port} as ${ROLE}: pg_dump: error: .*Connection refused`),
    );
    expect(files(dir)).toEqual([]);
    // A database that is not there, on the right server: the same.
    const nodb = runJob('backup', {
      id: backupId(),
      dir,
      template: { database: { ...TEMPLATE.database, name: `${DB}_missing` } },
    });
    expectFailed(nodb, 'backup', /database ".*_missing" does not exist/);
    expect(files(dir)).toEqual([]);
  });

  it('refuses a backup id it would not find again, a bad BACKUP_KEEP and a missing volume before connecting', () => {
    const dir = backupDir();
    expectFailed(
      runJob('backup', { id: backupId(), dir, env: { BACKUP_ID: '../escape' } }),
      'backup',
      /^BACKUP_ID is not a backup id/,
    );
    for (const keep of ['0', '-1', '07', 'all']) {
      expectFailed(
        runJob('backup', { id: backupId(), dir, env: { BACKUP_KEEP: keep } }),
        'backup',
        /^BACKUP_KEEP must be a whole number/,
      );
    }
    expectFailed(
      runJob('backup', { id: backupId(), dir: path.join(dir, 'not-mounted') }),
      'backup',
      /not-mounted is not a writable directory/,
    );
    expect(files(dir)).toEqual([]);
  });

  it('stops at once on SIGTERM (the Job deadline): the failed line, no partial dump, nothing restored by half', async () => {
    const dir = backupDir();
    const id = backupId();
    backup(dir, id);
    sql(`DELETE FROM orders; DELETE FROM users WHERE id > 5`);
    const state = usersState();
    // A long transaction holds users (a migration, say): pg_dump and the restore wait for it.
    const holder = spawn('psql', ['-h', HOST, '-p', String(PORT), '-U', ROLE, '-d', DB, '-X', '-w'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let held = '';
    holder.stdout.on('data', (d: Buffer) => (held += d.toString()));
    const released = new Promise((resolve) => holder.on('close', resolve));
    try {
      holder.stdin.write('BEGIN;\nLOCK TABLE users IN ACCESS EXCLUSIVE MODE;\n');
      await waitFor(
        () => held,
        (out) => out.includes('LOCK TABLE'),
        { timeoutMs: 5_000, what: 'the lock' },
      );
      const waiting = (app: string) =>
        sql(
          `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '${DB}' AND application_name = '${app}' AND wait_event_type = 'Lock'`,
        ) === '1';

      const dump = await terminateJob('backup', { id: backupId(), dir }, () => waiting('pg_dump'));
      expect(dump.run.status).toBe(1);
      expect(dump.run.last).toMatch(/^azora-backup: failed dumping .*: interrupted by SIGTERM$/);
      expect(dump.run.report).toMatchObject({ ok: false });
      expect(dump.ms).toBeLessThan(2_000);
      // Only the earlier dump: no partial file (.<id>.sql.partial) is left behind.
      expect(files(dir)).toEqual([`${id}.sql`]);

      const restore = await terminateJob('restore', { id, dir }, () => waiting('psql'));
      expect(restore.run.status).toBe(1);
      expect(restore.run.last).toMatch(/^azora-restore: failed restoring .*: interrupted by SIGTERM$/);
      expect(restore.run.stdout).not.toContain('azora-verify:');
      expect(restore.ms).toBeLessThan(2_000);
    } finally {
      holder.stdin.end('ROLLBACK;\n');
      await released;
    }
    // The restore's transaction never committed: the database is as it was.
    await waitFor(
      () => sql(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '${DB}' AND pid <> pg_backend_pid()`),
      (n) => n === '0',
      { timeoutMs: 5_000, what: 'the killed sessions to end' },
    );
    expect(usersState()).toBe(state);
  });
});
