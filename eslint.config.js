// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortController: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      // kafkajs must load after its fixes (src/clients/kafkajs/patches.ts); types may come from anywhere.
      // So must @platformatic/kafka after its fix (src/clients/platformatic/loader.ts).
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'Import kafkajs values from src/clients/kafkajs/loader.ts.', allowTypeImports: true },
            { name: '@platformatic/kafka', message: 'Import @platformatic/kafka values from src/clients/platformatic/loader.ts.', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  { files: ['src/clients/kafkajs/loader.ts', 'src/clients/platformatic/loader.ts'], rules: { '@typescript-eslint/no-restricted-imports': 'off' } },
  // The Node launcher must run on Node versions too old for ESM-only code, so it is CommonJS.
  {
    files: ['bin/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
