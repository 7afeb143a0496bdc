import type { Reporter, SerializedError, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

/**
 * Prints one line alone at the very end of a run, which CI reads:
 *
 *   tests: 12 passed, 0 failed, 1 skipped
 *
 * - passed: test cases that passed.
 * - failed: test cases that failed, plus one for every error outside a test case (a test
 *   file that does not import, a failing beforeAll/afterAll hook, an unhandled error or
 *   rejection). A broken file therefore never shows up as "0 failed"; nor does a run that
 *   vitest ends as failed or interrupted for another reason (e.g. no test file matched),
 *   which counts as 1 failed.
 * - skipped: test cases that did not run: skip, todo, skipped by `.only` elsewhere or by
 *   `ctx.skip()`, and those left pending by an interrupted run. Never counted as passed.
 *
 * Used beside the default reporter (see vitest.config.ts), and listed after it so that its
 * line comes last.
 */
export interface SummaryCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countResults(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): SummaryCounts {
  const counts: SummaryCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const testModule of testModules) {
    let failedHere = 0;
    for (const testCase of testModule.children.allTests()) {
      const state = testCase.result().state;
      if (state === 'passed') counts.passed += 1;
      else if (state === 'failed') failedHere += 1;
      else counts.skipped += 1;
    }
    counts.failed += failedHere;
    // Errors outside test cases: the file's own (import, collection, file-level hooks) and
    // every suite's (its beforeAll/afterAll hooks).
    const suites: Array<TestModule | TestSuite> = [testModule, ...testModule.children.allSuites()];
    const outsideErrors = suites.reduce((sum, suite) => sum + suite.errors().length, 0);
    counts.failed += outsideErrors;
    // Belt and braces: a file vitest calls failed is never reported as clean.
    if (failedHere === 0 && outsideErrors === 0 && testModule.state() === 'failed') counts.failed += 1;
  }
  counts.failed += unhandledErrors.length;
  return counts;
}

export function formatSummary(counts: SummaryCounts): string {
  return `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const counts = countResults(testModules, unhandledErrors);
    // A run vitest calls failed or interrupted (no test file matched, Ctrl-C) is never "0 failed".
    if (reason !== 'passed' && counts.failed === 0) counts.failed = 1;
    process.stdout.write(`\n${formatSummary(counts)}\n`);
  }
}
