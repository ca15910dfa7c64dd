/** `npm run bench`: the benchmarks under test/bench, with the same transforms as the tests. */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/bench'],
  testMatch: ['**/*.bench.ts'],
  testTimeout: 10 * 60_000,
  maxWorkers: 1,
  reporters: ['default'],
};
