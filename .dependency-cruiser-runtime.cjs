/**
 * What actually loads at run time (tsc erases type-only imports): no import circles, and
 * the web role never reaches the Kubernetes or PagerDuty clients.
 */
const { forbidden, RUNTIME, options } = require('./.dependency-cruiser.rules.cjs');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: forbidden.filter((rule) => RUNTIME.includes(rule.name)),
  options: { ...options, tsPreCompilationDeps: false },
};
