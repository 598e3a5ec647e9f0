// Closes a test run without TEST_DATABASE_URL with a line saying the PostgreSQL half was not run, so that
// a green run against the embedded database alone is not taken for the whole suite.
import type { Reporter } from 'vitest/reporters';

export default class ServerHalfReporter implements Reporter {
  onTestRunEnd(): void {
    if (process.env.TEST_DATABASE_URL) return;
    process.stdout.write('\nTEST_DATABASE_URL is not set: the tests against a PostgreSQL server were skipped (only the embedded database ran).\n' +
      '  To run them too: TEST_DATABASE_URL=$(.ci/start-postgres.sh | tail -1) npm test\n');
  }
}
