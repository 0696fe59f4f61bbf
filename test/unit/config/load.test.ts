import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deepFreeze, formatPath, loadConfigFile, parseConfig } from '../../../src/config/load.ts';
import { SluiceError } from '../../../src/errors.ts';

const examplePath = fileURLToPath(new URL('../../../examples/player-stats.yaml', import.meta.url));
const exampleYaml = readFileSync(examplePath, 'utf8');
const example = () => parse(exampleYaml);

function thrown(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SluiceError) return err;
    throw err;
  }
  throw new Error('expected a SluiceError');
}

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfigFile', () => {
  it('loads examples/treasure-hunt.yaml: Avro input, a co-partitioned table, sketches and a leaderboard', () => {
    const config = loadConfigFile(fileURLToPath(new URL('../../../examples/treasure-hunt.yaml', import.meta.url)));
    expect(config.input.format).toBe('avro');
    expect(config.tables.players).toEqual({ source: { topic: 'players' }, global: false });
    expect(config.enrich).toEqual([{ table: 'players', on: 'playerId', fields: ['tier', 'region'], missing: 'dead-letter' }]);
    expect(config.windows.map((w) => [w.name, w.groupBy, w.kind])).toEqual([
      ['per_player_1m', ['playerId', 'tier'], 'tumbling'],
      ['per_region_10m_by_1m', ['region'], 'hopping'],
      ['leaderboard_1m', [], 'tumbling'],
    ]);
    expect(config.windows[2]?.aggregates[0]).toMatchObject({ name: 'top10', fn: 'topK', field: 'playerId', k: 10 });
  });

  it('loads examples/player-stats.yaml as written', () => {
    const config = loadConfigFile(examplePath);
    expect(config.application.id).toBe('player-stats');
    expect(config.input.eventTime).toEqual({ field: 'ts' });
    expect(config.dedupe).toEqual({ idField: 'eventId', ttl: 600_000 });
    expect(config.windows.map((w) => [w.name, w.kind, w.sizeMs, w.advanceMs, w.graceMs])).toEqual([
      ['per_player_1m', 'tumbling', 60_000, 60_000, 10_000],
      ['per_player_5m_by_1m', 'hopping', 300_000, 60_000, 30_000],
    ]);
    expect(config.windows[0]?.aggregates.map((a) => `${a.name}=${a.fn}(${a.field ?? ''})`)).toEqual([
      'actions=count()', 'points=sum(points)', 'best=max(score)', 'worst=min(score)', 'avgScore=avg(score)',
    ]);
  });

  it('resolves stateDir against the config file directory', () => {
    const path = tempFile('sluice.yaml', exampleYaml);
    expect(loadConfigFile(path).application.stateDir).toBe(join(path, '..', '.sluice-state'));
    const absolute = tempFile('abs.yaml', exampleYaml.replace('./.sluice-state', '/var/lib/sluice'));
    expect(loadConfigFile(absolute).application.stateDir).toBe('/var/lib/sluice');
  });

  it('is plain data that worker threads receive whole (structured clone), stateDir already absolute', () => {
    const config = loadConfigFile(tempFile('workers.yaml', exampleYaml));
    const clone: unknown = structuredClone(config);
    expect(clone).toStrictEqual(config);
    expect(isAbsolute((clone as typeof config).application.stateDir)).toBe(true);
    expect(Object.isFrozen(deepFreeze(clone))).toBe(true);
  });

  it('reports a missing file as unreadable, naming it', () => {
    const err = thrown(() => loadConfigFile('/nonexistent/sluice.yaml'));
    expect(err).toMatchObject({ code: 'SLUICE_CONFIG_UNREADABLE', exitCode: 2 });
    expect(err.message).toBe('cannot read config file /nonexistent/sluice.yaml: no such file');
  });

  it('reports a directory as unreadable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    mkdirSync(join(dir, 'sub'));
    expect(thrown(() => loadConfigFile(join(dir, 'sub'))).code).toBe('SLUICE_CONFIG_UNREADABLE');
  });

  it('reports YAML syntax errors with their line', () => {
    const path = tempFile('broken.yaml', 'kafka:\n  brokers: [a:1\napplication: {\n');
    const err = thrown(() => loadConfigFile(path));
    expect(err.code).toBe('SLUICE_CONFIG_UNREADABLE');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/line \d+/);
  });

  it('names the file when validation fails', () => {
    const path = tempFile('bad.yaml', exampleYaml.replace('tumbling: 1m', 'tumbling: 1 minute'));
    const err = thrown(() => loadConfigFile(path));
    expect(err.code).toBe('SLUICE_CONFIG_INVALID');
    expect(err.message.split('\n')).toEqual([`config ${path} is invalid (1 issue):`, 'windows[0].tumbling: expected a duration like "10s"']);
  });
});

describe('parseConfig', () => {
  it('reports every issue at once, one line each with its path', () => {
    const raw = example();
    raw.windows[0].grace = 'ten seconds';
    delete raw.output.topic;
    raw.kafka.brokerz = ['x:1'];
    raw.windows[1].aggregates['bad-name'] = 'count()';
    const err = thrown(() => parseConfig(raw));
    expect(err).toMatchObject({ code: 'SLUICE_CONFIG_INVALID', exitCode: 2, canRetry: false });
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('config is invalid (4 issues):');
    expect(lines).toContain('windows[0].grace: expected a duration like "10s"');
    expect(lines).toContain('output.topic: required');
    expect(lines).toContain('kafka.brokerz: unknown key');
    expect(lines).toContain('windows[1].aggregates["bad-name"]: aggregate names must match /^[A-Za-z_][A-Za-z0-9_]*$/');
    expect(err.details).toContainEqual({ path: 'windows[0].grace', message: 'expected a duration like "10s"' });
    expect(err.details).toHaveLength(4);
  });

  it('reports a grace error and a missing output topic section together', () => {
    const raw = example();
    raw.windows[0].grace = '10';
    delete raw.output;
    expect(thrown(() => parseConfig(raw)).message.split('\n').slice(1)).toEqual([
      'windows[0].grace: expected a duration like "10s"',
      'output: required',
    ]);
  });

  it('uses (root) for issues about the whole document', () => {
    expect(thrown(() => parseConfig(null)).message.split('\n')[1]).toMatch(/^\(root\): /);
    expect(thrown(() => parseConfig({ ...example(), typo: 1 })).message).toContain('typo: unknown key');
  });

  it('refuses the metrics section of earlier versions, naming http.port', () => {
    const err = thrown(() => parseConfig({ ...example(), metrics: { port: 9464 } }));
    expect(err).toMatchObject({ code: 'SLUICE_CONFIG_INVALID', details: [{ path: 'metrics', message: expect.stringMatching(/replaced by http \(use http\.port/) }] });
  });

  it('resolves a relative http.authToken file against the config file', () => {
    const config = parseConfig({ ...example(), http: { authToken: { file: 'secrets/token' } } }, { baseDir: '/etc/sluice' });
    expect(config.http.authToken).toEqual({ file: '/etc/sluice/secrets/token' });
    expect(thrown(() => parseConfig({ ...example(), http: { authToken: { env: 'A', file: 'b' } } })).message).toContain('http.authToken: set exactly one of env and file');
    expect(thrown(() => parseConfig({ ...example(), http: { authToken: 'in-clear' } })).message).toContain('http.authToken: expected { env: NAME } or { file: path }: the secret itself never goes in the YAML');
  });

  it('names what replaced the batch and commit sections of earlier versions', () => {
    const message = thrown(() => parseConfig({ ...example(), batch: { maxRecords: 10 }, commit: { intervalMs: 50 } })).message;
    expect(message).toContain('batch: replaced by batching');
    expect(message).toContain('commit: replaced by batching.maxIntervalMs');
  });

  it('refuses a resume mark at or above the pause mark', () => {
    const message = thrown(() => parseConfig({ ...example(), backpressure: { maxInFlightBytes: 1000, resumeBelowBytes: 1000 } })).message;
    expect(message).toContain('backpressure.resumeBelowBytes: resumeBelowBytes must be below maxInFlightBytes');
  });

  it('returns a deeply frozen config', () => {
    const config = parseConfig(example());
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.windows[0]?.aggregates[0])).toBe(true);
    // ES modules run in strict mode, where writing to a frozen object throws.
    expect(() => {
      (config.kafka as { clientId: string }).clientId = 'other';
    }).toThrow(TypeError);
    expect(() => (config.windows as unknown[]).push({})).toThrow(TypeError);
    expect(() => {
      (config.windows[0]?.groupBy as string[])[0] = 'region';
    }).toThrow(TypeError);
  });

  it('leaves stateDir as written without a baseDir', () => {
    expect(parseConfig(example()).application.stateDir).toBe('./.sluice-state');
    expect(parseConfig(example(), { baseDir: '/etc/sluice' }).application.stateDir).toBe('/etc/sluice/.sluice-state');
  });
});

describe('formatPath', () => {
  it('brackets indices and odd keys, dots plain keys', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['kafka', 'brokers'])).toBe('kafka.brokers');
    expect(formatPath(['windows', 0, 'grace'])).toBe('windows[0].grace');
    expect(formatPath(['windows', 0, 'aggregates', 'a.b'])).toBe('windows[0].aggregates["a.b"]');
    expect(formatPath([3])).toBe('[3]');
  });
});
