// The config of enrichment: reference tables (`tables:`) and the lookups that copy their fields
// into events (`enrich:`). Part of the one config schema (schema.ts), kept here for its size.
import { z } from 'zod';
import { isRecord } from './raw-config.ts';
import type { ConfigIssue as Issue } from './raw-config.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const fieldName = z
  .string()
  .min(1, { error: 'field name cannot be empty' })
  // Assigning it would replace the event's prototype instead of adding a field.
  .refine((name) => name !== '__proto__', { error: 'field name "__proto__" is not supported' });

const topicSource = z
  .strictObject({
    topic: z
      .string()
      .min(1)
      .max(249)
      .regex(/^[A-Za-z0-9._-]+$/, { error: 'topic names may only contain letters, digits, ".", "_" and "-"' })
      .describe('Compacted topic holding the table: one JSON object per row, the record key is the row key (compaction and tombstones go by it too), a tombstone deletes the row.'),
  })
  .describe('A table kept in a topic.');

const fileSource = z
  .strictObject({
    file: z.string().min(1).describe('JSON lines (`.jsonl`, `.ndjson`) or CSV with a header line (`.csv`); a relative path resolves against the config file.'),
    key: fieldName.describe('Field (CSV column) holding the row key.'),
    format: z.enum(['jsonl', 'csv']).optional().describe('Default: from the file extension.'),
  })
  .describe('A static table read from a file at start.');

export const tableSchema = z
  .strictObject({
    source: z.union([topicSource, fileSource]).describe('Where the rows come from: `{ topic }` or `{ file, key }`.'),
    global: z
      .boolean()
      .default(false)
      .describe(
        'Topic tables only. false (the default): the topic is co-partitioned with the input (same partition count, keyed like it) and each lane keeps just its own partition, which moves with it; lookups must then be on `input.key`. true: every worker keeps the whole table and any field can be looked up. File tables are always whole.',
      ),
  })
  .describe('A reference table in LMDB.');

export const tablesSchema = z
  .record(z.string().regex(IDENTIFIER, { error: 'table names must match /^[A-Za-z_][A-Za-z0-9_]*$/' }), tableSchema)
  .default({})
  .describe('Reference tables that `enrich` looks rows up in, by name.');

export const enrichStepSchema = z
  .strictObject({
    table: z.string().min(1).describe('Name of a table under `tables`.'),
    on: fieldName.describe('Event field whose value (as a string) is the row key to look up.'),
    fields: z.array(fieldName).min(1, { error: 'copy at least one field' }).describe('Row fields copied into the event under the same names; a field the row lacks is left as the event has it.'),
    missing: z
      .enum(['keep', 'drop', 'dead-letter'])
      .default('keep')
      .describe('No row for the key (or no key in the event): keep the event as it is, drop it (counted in sluice_enrich_misses_total), or dead-letter it with reason `enrich-miss`.'),
  })
  .describe('One lookup.');

export const enrichSchema = z
  .array(enrichStepSchema)
  .default([])
  .describe('Lookups run in order on every event before dedupe and windowing, so that windows can group and aggregate on the copied fields.');

/**
 * Cross-field rules of enrichment, on the possibly partial raw config (the schema reports a
 * config whole, so these run even when other fields failed).
 */
export function enrichIssues(value: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const tables = isRecord(value.tables) ? value.tables : {};
  const inputKey = isRecord(value.input) ? value.input.key : undefined;
  const steps = Array.isArray(value.enrich) ? value.enrich : [];
  // What decides an event's identity, time and partition is never overwritten by a table.
  const reserved = new Map<string, string>();
  if (typeof inputKey === 'string') reserved.set(inputKey, 'input.key');
  if (isRecord(value.input) && isRecord(value.input.eventTime) && typeof value.input.eventTime.field === 'string') reserved.set(value.input.eventTime.field, 'input.eventTime.field');
  if (isRecord(value.dedupe) && typeof value.dedupe.idField === 'string') reserved.set(value.dedupe.idField, 'dedupe.idField');
  steps.forEach((step: unknown, i) => {
    if (!isRecord(step) || typeof step.table !== 'string') return;
    if (Array.isArray(step.fields)) {
      step.fields.forEach((field: unknown, f) => {
        const owner = typeof field === 'string' ? reserved.get(field) : undefined;
        if (owner !== undefined) issues.push({ path: ['enrich', i, 'fields', f], message: `"${String(field)}" is ${owner}; a lookup may not overwrite it` });
      });
    }
    const table = Object.hasOwn(tables, step.table) ? tables[step.table] : undefined;
    if (!isRecord(table)) {
      const known = Object.keys(tables);
      issues.push({ path: ['enrich', i, 'table'], message: `no table "${step.table}" under tables${known.length > 0 ? ` (tables: ${known.join(', ')})` : ''}` });
      return;
    }
    const coPartitioned = isRecord(table.source) && typeof table.source.topic === 'string' && table.global !== true;
    if (coPartitioned && typeof step.on === 'string' && step.on !== inputKey) {
      issues.push({
        path: ['enrich', i, 'on'],
        message: `table "${step.table}" is co-partitioned with the input, so a lane holds only the rows keyed like its own events: look it up on input.key ("${String(inputKey)}"), or make it global: true`,
      });
    }
  });
  for (const [name, table] of Object.entries(tables)) {
    if (isRecord(table) && isRecord(table.source) && typeof table.source.file === 'string' && table.global === true) {
      issues.push({ path: ['tables', name, 'global'], message: 'file tables are always whole; global applies to topic tables only' });
    }
  }
  return issues;
}


/** Shown in docs/config.md: tables of each kind and the lookups that use them. */
export const TABLES_EXAMPLE = {
  players: { source: { topic: 'players' } },
  regions: { source: { topic: 'regions' }, global: true },
  countries: { source: { file: './countries.csv', key: 'code' } },
};

export const ENRICH_EXAMPLE = [
  { table: 'players', on: 'playerId', fields: ['tier', 'region'], missing: 'dead-letter' },
  { table: 'regions', on: 'region', fields: ['regionName'], missing: 'keep' },
  { table: 'countries', on: 'country', fields: ['continent'], missing: 'drop' },
];
