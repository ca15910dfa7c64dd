import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from './daemon';
import { freePort } from './redis-server';

const run = promisify(execFile);
const INSTALL_HINT = "install Debian's prometheus (apt-get install prometheus), which brings promtool";

/** One series of a test metric: its labels and its samples (ms, value). */
export interface TestSeries {
  labels: Record<string, string>;
  samples: Array<[number, number]>;
}

/** A gauge family, as OpenMetrics text has it. */
export interface TestMetric {
  name: string;
  help?: string;
  series: TestSeries[];
}

export interface TestPrometheus {
  url: string;
  port: number;
  /** What Prometheus logged, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const sampleValue = (value: number) =>
  Number.isNaN(value) ? 'NaN' : value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);

/**
 * OpenMetrics text of the metrics: each family's samples together, timestamps in seconds,
 * ending in `# EOF` (promtool refuses the file without it).
 */
export function openMetrics(metrics: readonly TestMetric[]): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help ?? metric.name}`, `# TYPE ${metric.name} gauge`);
    for (const series of metric.series) {
      const labels = Object.entries(series.labels)
        .map(([name, value]) => `${name}="${escapeLabel(value)}"`)
        .join(',');
      for (const [at, value] of series.samples)
        lines.push(`${metric.name}{${labels}} ${sampleValue(value)} ${at / 1000}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

/**
 * Debian's real Prometheus on 127.0.0.1, serving `metrics` from TSDB blocks that
 * `promtool tsdb create-blocks-from openmetrics` made of them: nothing is scraped, the data
 * is exactly what the test wrote. Samples must lie in the past (older than a minute or
 * so) and within the 15-day retention.
 */
export async function startPrometheus(metrics: readonly TestMetric[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'azora-prometheus-'));
  const source = path.join(dir, 'data.om');
  const tsdb = path.join(dir, 'tsdb');
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(source, openMetrics(metrics));
  // No scrape jobs: the blocks are the only data.
  await writeFile(config, 'global:\n  evaluation_interval: 1m\n');
  try {
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', source, tsdb], { timeout: 60_000 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(
      e.code === 'ENOENT'
        ? `promtool is not on PATH; ${INSTALL_HINT}`
        : `promtool failed: ${e.stderr ?? e.message}`,
    );
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    command: 'prometheus',
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${tsdb}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dir,
    readyUrl: `${url}/-/ready`,
    readyWithinMs: 20_000,
    installHint: INSTALL_HINT,
  });
  return { url, port, logs: daemon.logs, stop: daemon.stop };
}

/** Samples every `every` ms from `from` to `to`: `before` until `at`, `after` from `at` on. */
export function steppedSamples(
  from: number,
  to: number,
  every: number,
  at: number,
  before: number,
  after: number,
): Array<[number, number]> {
  const samples: Array<[number, number]> = [];
  for (let t = from; t <= to; t += every) samples.push([t, t < at ? before : after]);
  return samples;
}
