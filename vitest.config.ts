import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary.reporter.ts';

/**
 * Two projects:
 * - unit: `*.spec.ts` beside the code; no services needed.
 * - integration: `test/**\/*.test.ts`; they talk to the local stack (scripts/stack.sh) and
 *   share its Redis, PostgreSQL and MinIO, so their files run one after another.
 *
 * `npm test` runs both (through scripts/run.sh, which starts the stack); `--project unit` or
 * `--project integration` picks one. The summary reporter prints the last line
 * `tests: N passed, N failed, N skipped`, which CI reads.
 */
const excluded = ['**/node_modules/**', 'var/**', '**/dist/**', '**/coverage/**'];

export default defineConfig({
  test: {
    reporters: ['default', new SummaryReporter()],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-logging.ts'],
    exclude: excluded,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{archive,config,daemon,drivers,server,storage,workers}/**/*.spec.ts'],
          exclude: excluded,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: excluded,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
