// Enrichment: lookups that copy fields of a reference-table row into the event, after parsing and
// before validation, dedupe and windowing, so that windows can group and aggregate on them.
import type { TableRows } from '../model/store-ports.ts';
import { tableKey } from '../model/table-key.ts';
import type { EnrichSpec } from './types.ts';

/** A lookup that found no row: what the step's `missing` says to do with the event. */
export interface EnrichMiss {
  table: string;
  missing: EnrichSpec['missing'];
  field: string;
  detail: string;
}

/**
 * Each table's stored fields: every field any lookup copies from it, in first-use order. Tables
 * store rows projected to these, so a change here means reloading the table (table-store.ts).
 */
export function tableFields(steps: readonly EnrichSpec[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const step of steps) {
    let fields = out.get(step.table);
    if (fields === undefined) out.set(step.table, (fields = []));
    for (const f of step.fields) if (!fields.includes(f)) fields.push(f);
  }
  return out;
}

interface CompiledStep {
  spec: EnrichSpec;
  rows: TableRows;
  /** the row index of each copied field */
  at: number[];
}

export class Enricher {
  private readonly steps: CompiledStep[];
  /** misses by `table|missing` since the last take */
  private readonly misses = new Map<string, number>();

  constructor(steps: readonly EnrichSpec[], tables: ReadonlyMap<string, TableRows>) {
    const fields = tableFields(steps);
    this.steps = steps.map((spec) => {
      const rows = tables.get(spec.table);
      if (rows === undefined) throw new Error(`enrich: table "${spec.table}" is not open`);
      const stored = fields.get(spec.table)!;
      return { spec, rows, at: spec.fields.map((f) => stored.indexOf(f)) };
    });
  }

  /**
   * Copies each step's fields into `event` in place; returns the first miss whose step does not
   * keep the event (a kept miss is only counted).
   */
  apply(event: Record<string, unknown>): EnrichMiss | undefined {
    for (let s = 0; s < this.steps.length; s++) {
      const { spec, rows, at } = this.steps[s]!;
      // Own properties only: "constructor" and the like must not resolve through the prototype.
      const raw = Object.hasOwn(event, spec.on) ? event[spec.on] : undefined;
      const key = tableKey(raw);
      const row = key === undefined ? undefined : rows.get(key);
      if (row === undefined) {
        const label = `${spec.table}|${spec.missing}`;
        this.misses.set(label, (this.misses.get(label) ?? 0) + 1);
        if (spec.missing === 'keep') continue;
        const detail = key === undefined ? `field "${spec.on}" is ${raw === undefined || raw === null ? 'missing or null' : 'not a string, number or boolean'}, so table "${spec.table}" cannot be looked up` : `table "${spec.table}" has no row with key ${JSON.stringify(key)}`;
        return { table: spec.table, missing: spec.missing, field: spec.on, detail };
      }
      for (let i = 0; i < at.length; i++) {
        const v = row[at[i]!];
        // A row without the field leaves the event's own value (or its absence) alone.
        if (v !== undefined && v !== null) event[spec.fields[i]!] = v;
      }
    }
    return undefined;
  }

  /** Misses counted since the last call, by table and `missing` action; resets them. */
  takeMisses(): Map<string, number> {
    const out = new Map(this.misses);
    this.misses.clear();
    return out;
  }
}
