import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as door from '../../src/kernel/kubernetes/client-node';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const BUILT_DOOR = 'dist/src/kernel/kubernetes/client-node.js';

/** What a fresh Node process holds after loading `entry` from the build, and the names `entry` exports. */
async function load(entry: string): Promise<{ files: string[]; exports: string[] }> {
  const script = `const m = require(${JSON.stringify(path.join(ROOT, entry))});
process.stdout.write(JSON.stringify({ files: Object.keys(require.cache), exports: Object.keys(m) }));`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const loaded = JSON.parse(stdout) as { files: string[]; exports: string[] };
  return { ...loaded, files: loaded.files.map((file) => path.relative(ROOT, file)) };
}

/**
 * The build bundles client-node's door (README: Runtime and stack notes): the built file
 * carries what the source re-exports, on its own, and the worker's adapters take it from
 * there rather than from the package's ~900 modules.
 */
describe('the bundled client-node door (npm run build)', () => {
  it('exports the same names as its source, and needs no file of node_modules', async () => {
    const built = await load(BUILT_DOOR);
    expect(built.exports.sort()).toEqual(Object.keys(door).sort());
    expect(built.files).toEqual([BUILT_DOOR]);
  }, 30_000);

  it('is what the worker adapters load: none of the package itself', async () => {
    const { files } = await load('dist/src/worker-adapters.js');
    expect(files).toContain(BUILT_DOOR);
    expect(files.filter((file) => file.includes('node_modules/@kubernetes/client-node/'))).toEqual([]);
  }, 30_000);
});
