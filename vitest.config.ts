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
          // test/deploy: the Helm chart and the image. The image test runs a pipeline against the
          // broker; the chart tests need none but are slow tools too, so they share this project.
          include: ['test/integration/**/*.test.ts', 'test/deploy/**/*.test.ts'],
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
