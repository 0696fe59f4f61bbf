// Loads a file table (JSON lines, or CSV with a header line) into its TableStore at start,
// streaming: the file is never on the heap whole, only a few thousand rows at a time.
import type { ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { sluiceError } from '../errors.ts';
import type { ParsedRow, TableStore } from './table-store.ts';

export type TableFileFormat = 'jsonl' | 'csv';

const ROWS_PER_TRANSACTION = 5000;

export function fileFormat(path: string, format: TableFileFormat | undefined): TableFileFormat {
  if (format !== undefined) return format;
  return extname(path).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
}

/**
 * The file as a stream, opened first so that a missing file fails here and not as an error event
 * that a pipe would not pass on (the parse would wait for ever).
 */
async function readStream(path: string): Promise<ReadStream> {
  const handle = await open(path, 'r');
  return handle.createReadStream();
}

/** JSON lines: one object per line; blank lines are skipped. Values keep their JSON types. */
async function* jsonRows(path: string, store: TableStore): AsyncGenerator<ParsedRow> {
  const input = await readStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  input.on('error', (err) => lines.emit('error', err));
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      yield { error: `line ${n}: not JSON: ${(err as Error).message}` };
      continue;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) yield { error: `line ${n}: not a JSON object` };
    else yield store.project(doc as Record<string, unknown>, undefined);
  }
}

/** CSV with a header line naming the columns; every value is a string. */
async function* csvRows(path: string, store: TableStore): AsyncGenerator<ParsedRow> {
  const input = await readStream(path);
  const parser = parseCsv({ columns: true, skip_empty_lines: true, bom: true, relax_column_count: true });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  for await (const record of parser) yield store.project(record as Record<string, unknown>, undefined);
}

/** Empties `store` and fills it from the file; returns how many rows it read. */
export async function loadTableFile(store: TableStore, path: string, format: TableFileFormat | undefined): Promise<number> {
  const rows = fileFormat(path, format) === 'csv' ? csvRows(path, store) : jsonRows(path, store);
  let chunk: ParsedRow[] = [];
  let count = 0;
  try {
    // Emptied only once the file opened: a table whose file went missing fails the start whole.
    const first = await rows.next();
    store.clear();
    if (first.done !== true) {
      chunk.push(first.value);
      count++;
    }
    for await (const row of rows) {
      chunk.push(row);
      count++;
      if (chunk.length === ROWS_PER_TRANSACTION) {
        store.putRows(chunk);
        chunk = [];
      }
    }
  } catch (err) {
    throw sluiceError('SLUICE_TABLE_UNREADABLE', `table file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  store.putRows(chunk);
  return count;
}
