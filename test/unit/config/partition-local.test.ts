import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { assertPartitionLocal } from '../../../src/config/partition-local.ts';
import { SluiceError } from '../../../src/errors.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

function withWindows(...groupBys: string[][]) {
  return parseConfig({
    ...example,
    windows: groupBys.map((groupBy, i) => ({ name: `w${i}`, groupBy, tumbling: '1m', aggregates: { n: 'count()' } })),
  });
}

describe('assertPartitionLocal', () => {
  it('accepts windows whose groupBy starts with the input key', () => {
    expect(() => assertPartitionLocal(parseConfig(example))).not.toThrow();
    expect(() => assertPartitionLocal(withWindows(['playerId'], ['playerId', 'region']))).not.toThrow();
  });

  it('names the first window that would span partitions', () => {
    const config = parseConfig({
      ...example,
      windows: [
        { name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' } },
        { name: 'per_region', groupBy: ['region'], tumbling: '1m', aggregates: { n: 'count()' } },
        { name: 'per_action', groupBy: ['action', 'playerId'], tumbling: '1m', aggregates: { n: 'count()' } },
      ],
    });
    let caught: unknown;
    try {
      assertPartitionLocal(config);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect(caught).toMatchObject({
      code: 'SLUICE_WINDOW_NOT_PARTITION_LOCAL',
      exitCode: 2,
      message:
        'window "per_region" groups by [region], but groupBy must start with the input key field "playerId" until cross-partition windows land',
      details: { window: 'per_region', groupBy: ['region'], key: 'playerId' },
    });
  });

  it('requires the key first, not merely present', () => {
    expect(() => assertPartitionLocal(withWindows(['action', 'playerId']))).toThrow(/window "w0" groups by \[action, playerId\]/);
  });
});
