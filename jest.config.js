/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // client-node 2.x and some of its dependencies ship ESM only. Node 24 can require() ESM,
  // but Jest's module loader does so only with --experimental-vm-modules, so those packages
  // are transpiled to CommonJS like our own code.
  transform: {
    '^.+\\.ts$': ['ts-jest', {}],
    '^.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', esModuleInterop: true, isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose|socks-proxy-agent|agent-base)/)',
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
