/** The structure of the house: every import counts, type-only ones included. */
const { forbidden, RUNTIME, options } = require('./.dependency-cruiser.rules.cjs');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: forbidden.filter((rule) => !RUNTIME.includes(rule.name)),
  options,
};
