// Prints the plain closing line CI looks for ("N passed, N failed") as the very last line,
// after Jest's own summary (which Jest writes after every reporter has run).
class SummaryReporter {
  // Which Node runs the tests (npm test should give the project's Node 24, node_modules/.bin/node).
  onRunStart() {
    process.stderr.write(`tests: on Node ${process.version} (${process.execPath})\n`);
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line =
      `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed` +
      (skipped ? `, ${skipped} skipped` : '');
    process.once('exit', () => process.stderr.write(`${line}\n`));
  }
}
module.exports = SummaryReporter;
