// Files derived from the config schema. Pure functions returning strings: the generator script
// writes them, and a unit test compares them with the committed copies so they cannot go stale.
import { stringify } from 'yaml';
import { z } from 'zod';
import { NORMALIZE_EXAMPLE } from './normalize-schema.ts';
import { ENRICH_EXAMPLE, TABLES_EXAMPLE } from './enrich-schema.ts';
import { IDLE_CLOSE_EXAMPLE } from './idle-schema.ts';
import { SESSION_EXAMPLE } from './session-schema.ts';
import { chartValuesSchema } from './chart-values-schema.ts';
import { configSchema, DURATION_PATTERN } from './schema.ts';

type JsonSchema = z.core.JSONSchema.BaseSchema;

export interface ConfigArtifact {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

export const HELM_VALUES_SCHEMA_PATH = 'deploy/helm/values.schema.json';
export const CONFIG_DOCS_PATH = 'docs/config.md';

// The input side is what a user writes (durations as strings, defaults optional). Draft-07 because
// Helm releases before 3.18 validate with a library that does not know 2020-12.
function configJsonSchema(): JsonSchema {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07' });
  return schema;
}

export function helmValuesSchemaJson(): string {
  // The chart's own values (image, probes, secrets, ...) next to the pipeline config.
  const { $schema: _ignored, ...chart } = z.toJSONSchema(chartValuesSchema, { io: 'input', target: 'draft-07' });
  const values = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'sluice Helm chart values',
    description: `Generated from src/config/schema.ts and src/config/chart-values-schema.ts by scripts/gen-config-artifacts.ts; do not edit.`,
    ...chart,
    required: [...(chart.required ?? []), 'config'],
    properties: { ...chart.properties, config: configJsonSchema() },
  };
  return `${JSON.stringify(values, null, 2)}\n`;
}

interface DocRow {
  path: string;
  type: string;
  required: boolean;
  defaultValue: unknown;
  description: string;
}

const asSchema = (value: unknown): JsonSchema | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : undefined;

function typeOf(schema: JsonSchema): string {
  if (schema.pattern === DURATION_PATTERN.source) return 'duration';
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (schema.type === 'integer') {
    const min = schema.exclusiveMinimum !== undefined ? Number(schema.exclusiveMinimum) + 1 : schema.minimum;
    const max = schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
    if (min !== undefined && max !== undefined) return `integer ${min}–${max}`;
    return min !== undefined ? `integer ≥ ${min}` : 'integer';
  }
  if (schema.type === 'array') {
    const items = asSchema(schema.items);
    return `${items ? typeOf(items) : 'any'}[]`;
  }
  const values = asSchema(schema.additionalProperties);
  if (schema.type === 'object' && values) return `map of ${typeOf(values)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return typeof schema.type === 'string' ? schema.type : 'any';
}

function collectRows(schema: JsonSchema, prefix: string, rows: DocRow[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    const child = asSchema(value);
    if (!child) continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    rows.push({
      path,
      type: typeOf(child),
      required: required.has(key),
      defaultValue: child.default,
      description: child.description ?? '',
    });
    collectChildren(child, path, rows);
  }
}

function collectChildren(schema: JsonSchema, path: string, rows: DocRow[]): void {
  const items = asSchema(schema.items);
  if (schema.type === 'array' && items?.type === 'object') collectRows(items, `${path}[]`, rows);
  if (schema.type !== 'object') return;
  collectRows(schema, path, rows);
  const values = asSchema(schema.additionalProperties);
  if (values) {
    const entry = `${path}.<name>`;
    rows.push({ path: entry, type: typeOf(values), required: false, defaultValue: undefined, description: values.description ?? '' });
    collectChildren(values, entry, rows);
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function formatDefault(value: unknown): string {
  if (value === undefined) return '';
  // Sections default to `{}`, which says nothing the field defaults below do not.
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) return '';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/**
 * Examples by top-level key, shown as the YAML a user would write. Here rather than in the JSON
 * schema, which drops `examples` of any type with a transform inside.
 */
const EXAMPLES: Readonly<Record<string, unknown>> = { normalize: NORMALIZE_EXAMPLE, tables: TABLES_EXAMPLE, enrich: ENRICH_EXAMPLE, windows: [...SESSION_EXAMPLE, ...IDLE_CLOSE_EXAMPLE] };

function exampleSections(): string[] {
  return Object.entries(EXAMPLES).flatMap(([key, example]) => [`### \`${key}\``, '', '```yaml', stringify({ [key]: example }).trimEnd(), '```', '']);
}

export function configDocsMarkdown(): string {
  const schema = configJsonSchema();
  const rows: DocRow[] = [];
  collectRows(schema, '', rows);
  const table = rows.map((row) =>
    [
      `\`${row.path}\``,
      cell(row.type),
      row.required ? 'yes' : 'no',
      cell(formatDefault(row.defaultValue)),
      cell(row.description),
    ].join(' | '),
  );
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `node scripts/gen-config-artifacts.ts`; do not edit. -->',
    '',
    `${schema.description ?? ''} A complete example is in [examples/player-stats.yaml](../examples/player-stats.yaml).`,
    '',
    '- **duration** values are an integer followed by a unit: `ms`, `s`, `m`, `h` or `d` (e.g. `100ms`, `10s`, `5m`).',
    '- Unknown keys are errors, so a misspelt field fails loudly instead of silently taking its default.',
    '- "Required" applies within the enclosing section: `dedupe.ttl` is required only when `dedupe` is present.',
    '- `path[]` is a field of every array element; `path.<name>` is an entry of a map whose keys you choose.',
    '- The Helm chart takes this same structure under `.Values.config`, validated by `deploy/helm/values.schema.json`.',
    '',
    '| Path | Type | Required | Default | Description |',
    '| --- | --- | --- | --- | --- |',
    ...table.map((line) => `| ${line} |`),
    '',
    '## Examples',
    '',
    ...exampleSections(),
  ].join('\n');
}

export function configArtifacts(): ConfigArtifact[] {
  return [
    { path: HELM_VALUES_SCHEMA_PATH, content: helmValuesSchemaJson() },
    { path: CONFIG_DOCS_PATH, content: configDocsMarkdown() },
  ];
}
