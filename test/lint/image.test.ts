import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { IMAGE_ENV } from '../kit/process';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** The production image carries the product only: no simulator is compiled into it or copied. */
describe('the image', () => {
  it('compiles no file of sandbox/ (tsconfig.build.json, what the Dockerfile builds)', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--listFilesOnly'],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const ours = stdout.split('\n').filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'));
    expect(ours.some((f) => f.includes('/src/main.ts'))).toBe(true);
    expect(ours.filter((f) => f.startsWith(path.join(ROOT, 'sandbox')))).toEqual([]);
  }, 60_000);

  it("bundles client-node's door as `npm run build` does, after compiling", () => {
    const build = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM .* AS runtime$/m)[0]!;
    const steps = build.split('\n').filter((line) => line.startsWith('RUN'));
    const tsc = steps.findIndex((line) => line.includes('tsc -p tsconfig.build.json'));
    const bundle = steps.findIndex((line) => /npm run (--silent )?bundle:client-node$/.test(line));
    expect(tsc).toBeGreaterThanOrEqual(0);
    expect(bundle).toBeGreaterThan(tsc);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toMatch(/&& npm run bundle:client-node( --silent)?$/);
  });

  it('gives the test kit every ENV line of its runtime stage, which the bot processes get', () => {
    const runtime = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM .* AS runtime$/m)[1]!;
    expect(Object.keys(IMAGE_ENV)).toHaveLength(
      runtime.split('\n').filter((line) => line.startsWith('ENV ')).length,
    );
    expect(IMAGE_ENV).toMatchObject({
      NODE_OPTIONS: expect.stringMatching(/--max-old-space-size=\d+/),
      MALLOC_ARENA_MAX: '1',
      // Pinned, so that glibc does not raise them after the first large free (see the Dockerfile).
      MALLOC_MMAP_THRESHOLD_: expect.stringMatching(/^\d+$/),
      MALLOC_TRIM_THRESHOLD_: expect.stringMatching(/^\d+$/),
    });
  });

  it('copies only the built product into the runtime stage', () => {
    const runtime = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM .* AS runtime$/m)[1]!;
    const copies = runtime.split('\n').filter((line) => line.startsWith('COPY'));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) expect(line).not.toMatch(/sandbox/);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", ("--[a-z-]+", )*"dist\/src\/main\.js"\]$/m);
  });
});
