import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { SluiceError } from '../../../src/errors.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

function withWindow(groupBy: string[], emit: 'final' | 'update', extra: Record<string, unknown> = {}) {
  return parseConfig({ ...example, ...extra, windows: [{ name: 'w0', groupBy, tumbling: '1m', emit, aggregates: { n: 'count()' } }] });
}

function caught(parse: () => unknown): unknown {
  try {
    parse();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('config validation of cross-partition windows', () => {
  it('accepts partition-local windows with either emit mode, and cross-partition windows emitting finals', () => {
    expect(() => parseConfig(example)).not.toThrow();
    expect(() => withWindow(['playerId', 'region'], 'update')).not.toThrow();
    expect(() => withWindow(['region'], 'final')).not.toThrow();
    expect(() => withWindow(['action', 'playerId'], 'final')).not.toThrow();
  });

  it('refuses emit: update on a window that spans partitions, naming it', () => {
    const err = caught(() => withWindow(['region'], 'update'));
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).toMatchObject({ code: 'SLUICE_CONFIG_INVALID', exitCode: 2 });
    expect((err as SluiceError).details).toEqual([
      { path: 'windows[0].emit', code: 'SLUICE_WINDOW_UNSUPPORTED', message: expect.stringMatching(/window "w0" groups by \[region\].*input key field "playerId".*only emit: final/) },
    ]);
    expect((err as Error).message).toMatch(/windows\[0\]\.emit: SLUICE_WINDOW_UNSUPPORTED: window "w0" groups by \[region\].*only emit: final/);
  });

  it('reports it with every other issue of the file', () => {
    const err = caught(() => withWindow(['region'], 'update', { http: { port: -1 } }));
    expect((err as SluiceError).details).toEqual([
      expect.objectContaining({ path: 'http.port' }),
      expect.objectContaining({ path: 'windows[0].emit', code: 'SLUICE_WINDOW_UNSUPPORTED' }),
    ]);
  });
});
