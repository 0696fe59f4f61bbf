// Each class of bad start gives its own exit code and a one-line message naming the culprit,
// with no stack trace: a stack trace is for bugs.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokers, createTopics, uniqueName } from '../helpers/kafka.ts';
import { runSluiceToExit } from '../helpers/sluice-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));

function pipeline(over: { brokers?: string; input?: string; stateDir?: string; grace?: string; output?: string | null; groupBy?: string; emit?: string; connectTimeout?: string }): string {
  return [
    `kafka: { brokers: ["${over.brokers ?? brokers()[0]}"], connectTimeout: ${over.connectTimeout ?? '10s'} }`,
    `application: { id: ${uniqueName('cli')}, stateDir: "${over.stateDir ?? join(dir, 'state')}" }`,
    `input: { topic: ${over.input ?? 'x'}, key: playerId }`,
    'windows:',
    '  - name: per_player_1m',
    `    groupBy: [${over.groupBy ?? 'playerId'}]`,
    '    tumbling: 1m',
    `    grace: ${over.grace ?? '10s'}`,
    `    emit: ${over.emit ?? 'final'}`,
    '    aggregates: { actions: count() }',
    over.output === null ? '' : `output: { topic: ${over.output ?? 'out'} }`,
    'deadLetter: { topic: dlq }',
    'http: { port: 0 }',
    '',
  ].join('\n');
}

async function run(name: string, yaml: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return runSluiceToExit(['run', '--config', file], join(dir, `${name}.log`));
}

function noStack(output: string): void {
  expect(output).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

describe('sluice run: bad config and bad start', () => {
  it('reports every config error at once with its path, exit 2', async () => {
    const r = await run('bad-config', pipeline({ grace: 'ten seconds', output: null }));
    expect(r.code).toBe(2);
    expect(r.output).toContain('windows[0].grace: expected a duration like "10s"');
    expect(r.output).toContain('output: required');
    noStack(r.output);
  });

  it('refuses emit: update on a window that spans partitions, naming it, exit 2', async () => {
    const r = await run('cross-update', pipeline({ groupBy: 'region', emit: 'update' }));
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/SLUICE_WINDOW_UNSUPPORTED.*per_player_1m/);
    noStack(r.output);
  });

  it('gives up on unreachable brokers after connectTimeout, naming them, exit 1', async () => {
    const r = await run('no-broker', pipeline({ brokers: '127.0.0.1:1', connectTimeout: '2s' }));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/SLUICE_BROKERS_UNREACHABLE.*127\.0\.0\.1:1/);
    noStack(r.output);
  });

  it('names a missing input topic, exit 1', async () => {
    const missing = uniqueName('missing-input');
    const r = await run('no-topic', pipeline({ input: missing }));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`SLUICE_INPUT_TOPIC_MISSING: input topic "${missing}" does not exist`);
    expect(r.output).toContain(`npm run kafka:topics -- create ${missing} --partitions <n>`);
    noStack(r.output);
  });

  it('names a state directory it cannot write, exit 1', async () => {
    const input = uniqueName('cli-in');
    await createTopics([{ topic: input, numPartitions: 1 }]);
    const readonlyDir = join(dir, 'readonly');
    mkdirSync(readonlyDir, { recursive: true });
    chmodSync(readonlyDir, 0o500);
    // root ignores permission bits, so under root point the state dir below a regular file instead.
    const target = process.getuid?.() === 0 ? join(dir, 'a-file', 'state') : join(readonlyDir, 'state');
    writeFileSync(join(dir, 'a-file'), '');
    const r = await run('bad-state', pipeline({ input, stateDir: target }));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`SLUICE_STATE_DIR_UNWRITABLE: state directory ${target} cannot be written`);
    noStack(r.output);
  });
});
