import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');

/**
 * The dependency rule bites: a small tree with one forbidden import per rule fails
 * `npm run lint`'s two dependency-cruiser checks, each naming its rule; the same tree
 * without them passes. The tree lives inside the repository so that node_modules resolve.
 */
describe('the dependency rule (npm run lint)', () => {
  const dir = mkdtempSync(path.join(ROOT, '.lint-fixture-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (files: Record<string, string>) => {
    rmSync(dir, { recursive: true, force: true });
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true },
      }),
    );
  };

  const cruise = async (config: string, dirs: string[]) => {
    try {
      await run(DEPCRUISE, [...dirs, '--config', path.join(ROOT, config)], { cwd: dir });
      return '';
    } catch (err) {
      return (err as { stdout: string }).stdout;
    }
  };

  const GOOD = {
    'src/kernel/domain/duration.ts': 'export const second = 1000;\n',
    'src/requests/domain/guards.ts':
      "import { second } from '../../kernel/domain/duration';\nexport const wait = second;\n",
    'src/requests/contracts.ts': "export const planRequestJob = { queue: 'ops', name: 'plan' };\n",
    'src/alerts/notify.ts':
      "import { wait } from '../requests/domain/guards';\nimport { planRequestJob } from '../requests/contracts';\nexport const f = [wait, planRequestJob];\n",
    'handlers/command.ts':
      "import { planRequestJob } from '../src/requests/contracts';\nexport const h = planRequestJob;\n",
    'jobs/plan.ts':
      "import { planRequestJob } from '../src/requests/contracts';\nexport const j = planRequestJob;\n",
    // A view may take a port's plain type.
    'src/kernel/kubernetes/port.ts': 'export interface LogLine { text: string }\n',
    'src/logs/views.ts':
      "import type { LogLine } from '../kernel/kubernetes/port';\nexport const show = (l: LogLine) => l.text;\n",
  };

  it('passes a tree that keeps the rule', async () => {
    write(GOOD);
    expect(await cruise('.dependency-cruiser.cjs', ['src', 'handlers', 'jobs'])).toBe('');
    expect(await cruise('.dependency-cruiser-runtime.cjs', ['src', 'handlers', 'jobs'])).toBe('');
  }, 30_000);

  it.each<[string, Record<string, string>, string]>([
    [
      'domain-is-pure',
      { 'src/requests/domain/guards.ts': "import { Redis } from 'ioredis';\nexport const r = Redis;\n" },
      '.dependency-cruiser.cjs',
    ],
    [
      'use-case-internals',
      {
        'src/requests/store.ts': 'export const store = 1;\n',
        'src/alerts/notify.ts': "import { store } from '../requests/store';\nexport const f = store;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'kernel-below-use-cases',
      {
        'src/kernel/queue.ts':
          "import { planRequestJob } from '../requests/contracts';\nexport const q = planRequestJob;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'handlers-not-jobs',
      { 'handlers/command.ts': "import { j } from '../jobs/plan';\nexport const h = j;\n" },
      '.dependency-cruiser.cjs',
    ],
    [
      'handlers-apart',
      {
        'handlers/click.ts': 'export const tell = 1;\n',
        'handlers/command.ts': "import { tell } from './click';\nexport const h = tell;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'src-not-entry-points',
      { 'src/alerts/notify.ts': "import { h } from '../../handlers/command';\nexport const f = h;\n" },
      '.dependency-cruiser.cjs',
    ],
    [
      'views-not-adapters',
      {
        'src/kernel/pagerduty/pagerduty.ts': 'export interface OnCall { user: string }\n',
        'src/oncall/views.ts':
          "import type { OnCall } from '../kernel/pagerduty/pagerduty';\nexport const show = (o: OnCall) => o.user;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'entry-points-apart',
      {
        'jobs/other.ts': 'export const o = 1;\n',
        'jobs/plan.ts': "import { o } from './other';\nexport const j = o;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'product-not-sandbox',
      {
        'sandbox/slack.ts': 'export const fake = 1;\n',
        'src/alerts/notify.ts': "import { fake } from '../../sandbox/slack';\nexport const f = fake;\n",
      },
      '.dependency-cruiser.cjs',
    ],
    [
      'no-circular',
      {
        'src/alerts/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
        'src/alerts/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
      },
      '.dependency-cruiser-runtime.cjs',
    ],
    [
      'web-role-no-cluster-clients',
      {
        'src/kernel/kube.ts':
          "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n",
        'src/requests/contracts.ts':
          "import { k } from '../kernel/kube';\nexport const planRequestJob = k;\n",
      },
      '.dependency-cruiser-runtime.cjs',
    ],
  ])(
    'refuses what breaks %s',
    async (rule, files, config) => {
      write({ ...GOOD, ...files });
      const dirs = ['src', 'handlers', 'jobs', ...(rule === 'product-not-sandbox' ? ['sandbox'] : [])];
      const report = await cruise(config, dirs);
      expect(report).toContain(`error ${rule}:`);
    },
    30_000,
  );
});
