import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The fixtures are codebases to analyse; their own tests are theirs.
    exclude: [...configDefaults.exclude, 'test/fixtures/**'],
    pool: 'forks',
    // Two cores: two test files at a time, each with its own database.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // No test may reach for a model on the network: tests that embed build the stand-in model.
    env: { SINGULARITY_OFFLINE: '1' },
    // The default summary, then a line when the server half of the suite was skipped.
    reporters: ['default', './test/support/server-half-reporter.ts'],
  },
});
