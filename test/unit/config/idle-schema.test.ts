import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { IDLE_CLOSE_EXAMPLE } from '../../../src/config/idle-schema.ts';
import { refusalDetails } from '../../helpers/minimal-config.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

const withWindow = (w: Record<string, unknown>) => parseConfig({ ...example, windows: [{ name: 'w', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' }, ...w }] });

const details = refusalDetails;

describe('config of idle close', () => {
  it('takes closeIdleAfter as a duration, per window, and leaves it out when absent', () => {
    expect(withWindow({ closeIdleAfter: '30s' }).windows[0]).toMatchObject({ closeIdleAfterMs: 30_000 });
    expect(withWindow({ hopping: { size: '5m', advance: '1m' }, tumbling: undefined, closeIdleAfter: '2m' }).windows[0]).toMatchObject({ kind: 'hopping', closeIdleAfterMs: 120_000 });
    expect(withWindow({}).windows[0]!.closeIdleAfterMs).toBeUndefined();
  });

  it('accepts the documented example', () => {
    expect(parseConfig({ ...example, windows: IDLE_CLOSE_EXAMPLE }).windows[0]!.closeIdleAfterMs).toBe(30_000);
  });

  it('refuses what is not a duration of at least 1s', () => {
    expect(details(() => withWindow({ closeIdleAfter: 'soon' }))).toEqual([expect.objectContaining({ path: 'windows[0].closeIdleAfter', message: 'expected a duration like "10s"' })]);
    expect(details(() => withWindow({ closeIdleAfter: '999ms' }))).toEqual([expect.objectContaining({ path: 'windows[0].closeIdleAfter', message: 'must be at least 1s' })]);
    expect(withWindow({ closeIdleAfter: '1000ms' }).windows[0]!.closeIdleAfterMs).toBe(1000);
  });

  it('refuses it on a window whose groups span partitions, with SLUICE_WINDOW_UNSUPPORTED', () => {
    expect(details(() => withWindow({ groupBy: ['region'], closeIdleAfter: '30s' }))).toEqual([
      { path: 'windows[0].closeIdleAfter', code: 'SLUICE_WINDOW_UNSUPPORTED', message: expect.stringMatching(/window "w" groups by \[region\], which spans partitions .* closeIdleAfter applies to partition-local windows only/) },
    ]);
    expect(() => withWindow({ groupBy: ['region'] })).not.toThrow();
  });

  it('takes it on a partition-local session window, and refuses it on one spanning partitions', () => {
    expect(withWindow({ session: { gap: '5m' }, tumbling: undefined, closeIdleAfter: '2m' }).windows[0]).toMatchObject({ kind: 'session', closeIdleAfterMs: 120_000 });
    expect(details(() => withWindow({ groupBy: ['region'], session: { gap: '5m' }, tumbling: undefined, closeIdleAfter: '2m' }))).toContainEqual(expect.objectContaining({ path: 'windows[0].closeIdleAfter', code: 'SLUICE_WINDOW_UNSUPPORTED' }));
  });
});
