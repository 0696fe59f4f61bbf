import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { SESSION_EXAMPLE } from '../../../src/config/session-schema.ts';
import { refusalDetails } from '../../helpers/minimal-config.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

const withWindow = (w: Record<string, unknown>) => parseConfig({ ...example, windows: [{ name: 's', groupBy: ['playerId'], aggregates: { n: 'count()' }, ...w }] });

const details = refusalDetails;

describe('config of session windows', () => {
  it('normalizes session: { gap } to a session window whose size is its gap', () => {
    expect(withWindow({ session: { gap: '5m' }, grace: '30s' }).windows[0]).toMatchObject({ kind: 'session', sizeMs: 300_000, advanceMs: 300_000, graceMs: 30_000, emit: 'final' });
  });

  it('accepts the documented example', () => {
    expect(() => parseConfig({ ...example, windows: SESSION_EXAMPLE })).not.toThrow();
  });

  it('wants exactly one of tumbling, hopping or session', () => {
    expect(details(() => withWindow({ session: { gap: '5m' }, tumbling: '1m' }))).toEqual([expect.objectContaining({ path: 'windows[0]', message: 'give one of tumbling, hopping or session, not tumbling and session' })]);
    expect(details(() => withWindow({}))).toEqual([expect.objectContaining({ message: 'one of tumbling, hopping or session is required' })]);
  });

  it('refuses a zero or missing gap', () => {
    expect(details(() => withWindow({ session: { gap: '0s' } }))).toEqual([expect.objectContaining({ path: 'windows[0].session.gap', message: 'must be longer than 0' })]);
    expect(details(() => withWindow({ session: {} }))).toEqual([expect.objectContaining({ path: 'windows[0].session.gap', message: 'required' })]);
  });

  it('refuses emit: update and groups that span partitions, each once, with SLUICE_WINDOW_UNSUPPORTED', () => {
    expect(details(() => withWindow({ session: { gap: '5m' }, emit: 'update', groupBy: ['region'] }))).toEqual([
      { path: 'windows[0].emit', code: 'SLUICE_WINDOW_UNSUPPORTED', message: 'session window "s" supports only emit: final' },
      { path: 'windows[0].groupBy', code: 'SLUICE_WINDOW_UNSUPPORTED', message: expect.stringMatching(/must be partition-local: its groupBy must start with the input key field "playerId"/) },
    ]);
  });

  it('refuses a topK in a session window: its member list would have no bound', () => {
    expect(details(() => withWindow({ session: { gap: '5m' }, aggregates: { top: 'topK(action, 3, by: count())' } }))).toEqual([
      { path: 'windows[0].aggregates', code: 'SLUICE_WINDOW_UNSUPPORTED', message: 'session window "s" cannot have a topK aggregate: a session\'s member list has no bound' },
    ]);
  });
});
