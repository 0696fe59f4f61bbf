// @ts-check
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

// The layers of src/ (docs/architecture.md): entry (cli, app, workers) → consumers → processors →
// sinks, with state and model beside them; clients behind the port, whose adapters only entry
// wiring may import. So may only entry import formats (value decoders and encoders that talk to a
// schema registry); the layers below see them through src/model/value-format.ts. The HTTP server
// (src/http) sits at the entry level: only entry wires it, and it sees the pipeline through what
// entry hands it. Each layer lists what it must never import: a layer above it, or a client.
const ELEMENTS = [
  { type: 'entry', pattern: 'src/entry/**', partialMatch: false },
  { type: 'http', pattern: 'src/http/**', partialMatch: false },
  { type: 'observability', pattern: 'src/observability/**', partialMatch: false },
  { type: 'config', pattern: 'src/config/**', partialMatch: false },
  { type: 'consumers', pattern: 'src/consumers/**', partialMatch: false },
  { type: 'processors', pattern: 'src/processors/**', partialMatch: false },
  { type: 'sinks', pattern: 'src/sinks/**', partialMatch: false },
  { type: 'state', pattern: 'src/state/**', partialMatch: false },
  { type: 'model', pattern: 'src/model/**', partialMatch: false },
  { type: 'formats', pattern: 'src/formats/**', partialMatch: false },
  { type: 'kafkajs', pattern: 'src/clients/kafkajs/**', partialMatch: false },
  { type: 'platformatic', pattern: 'src/clients/platformatic/**', partialMatch: false },
];
// Single files, which the plugin classifies as file categories rather than folder elements.
const FILES = [
  { category: 'port', pattern: 'src/clients/port.ts' },
  { category: 'client-shared', pattern: 'src/clients/!(port).ts' },
  { category: 'shared', pattern: 'src/{errors,log}.ts' },
];
const ADAPTERS = ['kafkajs', 'platformatic', 'client-shared'];
const EVERYTHING = [...ELEMENTS.map((e) => e.type), ...FILES.map((f) => f.category)];
const MUST_NOT_IMPORT = {
  model: EVERYTHING.filter((t) => t !== 'model'),
  http: ['entry', 'consumers', 'processors', 'sinks', 'state', 'formats', 'config', ...ADAPTERS],
  shared: EVERYTHING.filter((t) => t !== 'shared'),
  state: ['entry', 'http', 'observability', 'config', 'consumers', 'processors', 'sinks', 'port', 'formats', ...ADAPTERS],
  processors: ['entry', 'http', 'observability', 'consumers', 'state', 'port', 'formats', ...ADAPTERS],
  sinks: ['entry', 'http', 'observability', 'consumers', 'processors', 'state', 'formats', ...ADAPTERS],
  consumers: ['entry', 'http', 'formats', ...ADAPTERS],
  formats: ['entry', 'http', 'observability', 'consumers', 'sinks', 'state', 'port', ...ADAPTERS],
  config: ['entry', 'http', 'observability', 'consumers', 'processors', 'sinks', 'state', 'formats', ...ADAPTERS],
  observability: ['entry', 'http', 'config', 'consumers', 'processors', 'sinks', 'state', 'port', 'formats', ...ADAPTERS],
  port: ['entry', 'http', 'observability', 'config', 'consumers', 'processors', 'sinks', 'state', 'formats', ...ADAPTERS],
  'client-shared': ['entry', 'http', 'observability', 'config', 'consumers', 'processors', 'sinks', 'state', 'formats', 'kafkajs', 'platformatic'],
  kafkajs: ['entry', 'http', 'observability', 'consumers', 'processors', 'state', 'formats', 'platformatic'],
  platformatic: ['entry', 'http', 'observability', 'consumers', 'processors', 'state', 'formats', 'kafkajs'],
};
const isFileCategory = (name) => FILES.some((f) => f.category === name);
/** A selector for what `names` (element types and file categories) denote. */
const selector = (names) => {
  const types = names.filter((n) => !isFileCategory(n));
  const categories = names.filter(isFileCategory);
  return [...(types.length > 0 ? [{ element: { type: types } }] : []), ...(categories.length > 0 ? [{ file: { categories } }] : [])];
};
const layers = {
  files: ['src/**/*.ts'],
  plugins: { boundaries },
  settings: { 'boundaries/elements': ELEMENTS, 'boundaries/files': FILES, 'boundaries/include': ['src/**/*.ts'] },
  rules: {
    'boundaries/dependencies': [
      'error',
      {
        default: 'allow',
        policies: Object.entries(MUST_NOT_IMPORT).flatMap(([from, to]) =>
          selector([from]).flatMap((source) => selector(to).map((target) => ({ from: source, disallow: { to: target } }))),
        ),
      },
    ],
  },
};

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
  layers,
  // The Node launcher must run on Node versions too old for ESM-only code, so it is CommonJS.
  {
    files: ['bin/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
