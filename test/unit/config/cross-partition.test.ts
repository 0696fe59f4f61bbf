import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { assertWindowsSupported } from '../../../src/config/cross-partition.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { SluiceError } from '../../../src/errors.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

function withWindow(groupBy: string[], emit: 'final' | 'update') {
  return parseConfig({ ...example, windows: [{ name: 'w0', groupBy, tumbling: '1m', emit, aggregates: { n: 'count()' } }] });
}

describe('assertWindowsSupported', () => {
  it('accepts partition-local windows with either emit mode, and cross-partition windows emitting finals', () => {
    expect(() => assertWindowsSupported(parseConfig(example))).not.toThrow();
    expect(() => assertWindowsSupported(withWindow(['playerId', 'region'], 'update'))).not.toThrow();
    expect(() => assertWindowsSupported(withWindow(['region'], 'final'))).not.toThrow();
    expect(() => assertWindowsSupported(withWindow(['action', 'playerId'], 'final'))).not.toThrow();
  });

  it('refuses emit: update on a window that spans partitions, naming it', () => {
    let caught: unknown;
    try {
      assertWindowsSupported(withWindow(['region'], 'update'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect(caught).toMatchObject({ code: 'SLUICE_WINDOW_UNSUPPORTED', exitCode: 2, details: { window: 'w0', groupBy: ['region'], key: 'playerId' } });
    expect((caught as Error).message).toMatch(/window "w0" groups by \[region\].*only emit: final/);
  });
});
