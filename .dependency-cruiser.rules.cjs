/**
 * The dependency rule of the house (README: Layout), shared by the two configurations
 * `npm run lint` runs. Paths are relative to the repository root.
 */
const USE_CASES =
  '(access|alerts|backups|commands|graphs|incidents|logs|maintenance|oncall|releases|requests|status)';
const ENTRY = '^(handlers|jobs)/';

const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'Import circles make load order matter and modules impossible to read alone.',
    from: { path: '^(src|handlers|jobs)/' },
    to: { circular: true, dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'product-not-sandbox',
    severity: 'error',
    comment: 'The simulators are not part of the product or its image.',
    from: { path: '^(src|handlers|jobs)/' },
    to: { path: '^sandbox/' },
  },
  {
    name: 'domain-is-pure',
    severity: 'error',
    comment:
      'domain/ folders hold pure logic: other domain code, the parsed policy, zod and hashing only; no adapters, stores, views or I/O.',
    from: { path: '/domain/' },
    to: {
      pathNot: [
        '/domain/',
        '^src/config/(policy|errors)\\.ts$',
        '(^|/)node_modules/zod/',
        '^(node:)?crypto$',
      ],
    },
  },
  {
    name: 'use-case-internals',
    severity: 'error',
    comment: 'A use case reaches another only through its domain/, contracts.ts or index.ts.',
    from: { path: `^src/${USE_CASES}/` },
    to: {
      path: `^src/${USE_CASES}/`,
      pathNot: ['^src/$1/', `^src/${USE_CASES}/(domain/|contracts\\.ts$|index\\.ts$)`],
    },
  },
  {
    name: 'kernel-below-use-cases',
    severity: 'error',
    comment: 'The shared kernel knows no use case and no entry point.',
    from: { path: '^src/(kernel|config)/' },
    to: { path: [`^src/${USE_CASES}/`, ENTRY, '^src/(deps|runtime|cli|main)\\.ts$'] },
  },
  {
    name: 'src-not-entry-points',
    severity: 'error',
    comment:
      'Only the composition root (src/runtime.ts, src/web/server.ts, jobs/index.ts) imports handlers/ and jobs/.',
    from: { path: '^src/', pathNot: '^src/(runtime|web/server)\\.ts$' },
    to: { path: ENTRY },
  },
  {
    name: 'entry-points-apart',
    severity: 'error',
    comment:
      'A job never imports another job, nor a handler; a handler never imports a job: both import contracts.',
    from: { path: '^jobs/', pathNot: '^jobs/index\\.ts$' },
    to: { path: ['^jobs/', '^handlers/'] },
  },
  {
    name: 'handlers-apart',
    severity: 'error',
    comment:
      'A handler never imports another handler: shared steps live in a use case, the button table in the composition root.',
    from: { path: '^handlers/' },
    to: { path: '^handlers/' },
  },
  {
    name: 'views-not-adapters',
    severity: 'error',
    comment:
      'Views are pure functions of plain types their use case (or a port) declares, never of the Kubernetes, PagerDuty or Alertmanager adapters.',
    from: { path: `^src/${USE_CASES}/views(\\.ts$|/)` },
    to: {
      path: ['^src/kernel/(kubernetes|pagerduty)/', '^src/kernel/alertmanager\\.ts$'],
      pathNot: '^src/kernel/kubernetes/port\\.ts$',
    },
  },
  {
    name: 'handlers-not-jobs',
    severity: 'error',
    comment: 'Handlers enqueue through contracts, so the web role loads no processor.',
    from: { path: '^handlers/' },
    to: { path: '^jobs/' },
  },
  {
    name: 'web-role-no-cluster-clients',
    severity: 'error',
    comment:
      'The web role (handlers/, src/web/) never loads the Kubernetes or PagerDuty clients, nor the graph renderer.',
    from: { path: '^(handlers|src/web)/' },
    to: {
      path: '(^|/)node_modules/(@kubernetes/client-node|@pagerduty/pdjs|echarts|@resvg/resvg-js)/',
      reachable: true,
    },
  },
];

/** Rules about what loads at run time: checked without type-only imports, which tsc erases. */
const RUNTIME = ['no-circular', 'web-role-no-cluster-clients'];

const options = {
  doNotFollow: { path: 'node_modules' },
  exclude: { path: '^(dist|test|coverage)/' },
  tsPreCompilationDeps: true,
  tsConfig: { fileName: 'tsconfig.json' },
  moduleSystems: ['cjs', 'es6'],
};

module.exports = { forbidden, RUNTIME, options };
