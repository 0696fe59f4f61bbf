import { defineConfig } from 'vitest/config';

// CI asks for vitest's own counts in a JSON file, so its summary line is vitest's, not a grep.
const report = process.env.SLUICE_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    setupFiles: ['test/helpers/quiet-warnings.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          // One broker, two cores: files run one at a time so timings stay sane.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
