import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** The Kubernetes client (the package, or the build's bundle of it), PagerDuty's, the graph renderer. */
const CLUSTER_CLIENTS =
  /node_modules\/(@kubernetes\/client-node|@pagerduty\/pdjs|echarts|@resvg\/resvg-js)\/|^dist\/src\/kernel\/kubernetes\/client-node\.js$/;

/** Every module a fresh Node process holds after loading `entry` from the build (dist/, as `npm test` builds it). */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const script = `require(${JSON.stringify(path.join(ROOT, entry))});
process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return (JSON.parse(stdout) as string[]).map((file) => path.relative(ROOT, file));
}

/**
 * The web role loads its own side only (README: Running): what `src/runtime.ts` imports
 * for a `web` process, its handlers included, pulls in no executor, no processor and
 * neither cluster client. The import rule says the same of the sources; this says it of
 * what Node actually loads.
 */
describe('the web role (dist/src/web/server.js)', () => {
  let loaded: string[];
  beforeAll(async () => {
    loaded = await modulesLoadedBy('dist/src/web/server.js');
  }, 30_000);

  it('loads its handlers and the requests use case through its contracts and the decision', () => {
    expect(loaded).toEqual(
      expect.arrayContaining([
        'dist/handlers/approval.js',
        'dist/handlers/confirm-restore.js',
        'dist/src/requests/decide.js',
        'dist/src/requests/contracts.js',
      ]),
    );
  });

  it('loads neither the executor nor its deploy and database steps, nor any job', () => {
    expect(
      loaded.filter((file) =>
        /^dist\/src\/requests\/(executor|deploy|database)\.js$|^dist\/jobs\//.test(file),
      ),
    ).toEqual([]);
  });

  it('loads neither the Kubernetes nor the PagerDuty client, nor the graph renderer', () => {
    expect(loaded.filter((file) => CLUSTER_CLIENTS.test(file))).toEqual([]);
  });
});

/** The composition root loads each role's side when that role starts: requiring it loads no job. */
describe('the composition root (dist/src/runtime.js)', () => {
  it('loads no processor and neither cluster client until a worker starts', async () => {
    const loaded = await modulesLoadedBy('dist/src/runtime.js');
    expect(loaded).toContain('dist/src/runtime.js');
    expect(loaded.filter((file) => file.startsWith('dist/jobs/') || CLUSTER_CLIENTS.test(file))).toEqual([]);
  }, 30_000);
});
