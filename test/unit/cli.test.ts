// The CLI's answers to a wrong command line: what is wrong first, then the usage, exit 2. These
// return before anything connects, so they run in-process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/entry/cli.ts';

function capture() {
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  return { stderr: () => err.mock.calls.map((c) => c.join(' ')).join('\n'), stdout: () => out.mock.calls.map((c) => c.join(' ')).join('\n') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sluice command line', () => {
  it('names an unknown command, then shows the usage, exit 2', async () => {
    const io = capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(io.stderr()).toMatch(/^sluice: unknown command "frobnicate"\n\nusage: sluice run --config <pipeline.yaml>/);
  });

  it('says that run needs --config', async () => {
    const io = capture();
    expect(await main(['run'])).toBe(2);
    expect(io.stderr()).toMatch(/^sluice: run needs --config <pipeline.yaml>\n\nusage:/);
  });

  it('says that --config needs a file', async () => {
    const io = capture();
    expect(await main(['run', '--config'])).toBe(2);
    expect(io.stderr()).toMatch(/^sluice: --config needs a file/);
  });

  it('names an unknown option and a stray argument', async () => {
    const io = capture();
    expect(await main(['run', '--confg', 'p.yaml'])).toBe(2);
    expect(await main(['run', 'p.yaml', '--config', 'p.yaml'])).toBe(2);
    expect(io.stderr()).toContain('sluice: unknown option "--confg"');
    expect(io.stderr()).toContain('sluice: unexpected argument "p.yaml"');
  });

  it('says when no command is given', async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(io.stderr()).toMatch(/^sluice: no command given\n\nusage:/);
  });

  it('prints help and version on stdout, exit 0', async () => {
    const io = capture();
    expect(await main(['--help'])).toBe(0);
    expect(await main(['version'])).toBe(0);
    expect(await main(['--version'])).toBe(0);
    expect(io.stdout()).toMatch(/^usage: sluice run/);
    expect(io.stdout()).toMatch(/\n\d+\.\d+\.\d+\n\d+\.\d+\.\d+$/);
    expect(io.stderr()).toBe('');
  });

  it('knows dlq inspect and dlq replay, and says what is wrong with their arguments', async () => {
    const io = capture();
    expect(await main(['dlq'])).toBe(2);
    expect(await main(['dlq', 'purge', '--config', 'p.yaml'])).toBe(2);
    expect(await main(['dlq', 'inspect'])).toBe(2);
    expect(await main(['dlq', 'inspect', '--config', 'p.yaml', '--dry-run'])).toBe(2);
    expect(await main(['dlq', 'replay', '--config', 'p.yaml', '--since'])).toBe(2);
    expect(await main(['run', '--config', 'p.yaml', '--reason', 'late'])).toBe(2);
    const lines = io.stderr().split('\n').filter((line) => line.startsWith('sluice: '));
    expect(lines).toEqual([
      'sluice: dlq needs inspect or replay',
      'sluice: unknown dlq command "purge"',
      'sluice: dlq inspect needs --config <pipeline.yaml>',
      'sluice: --dry-run applies to dlq replay only',
      'sluice: --since needs a time: --since <ISO-8601 time | duration>',
      'sluice: --reason and --since apply to dlq inspect and dlq replay only',
    ]);
  });

  it('refuses a --since it cannot read before it connects to anything, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    const config = join(dir, 'p.yaml');
    writeFileSync(config, 'kafka: { brokers: ["127.0.0.1:1"] }\napplication: { id: a }\ninput: { topic: i, key: k }\nwindows: [{ name: w, groupBy: [k], tumbling: 1m, aggregates: { n: count() } }]\noutput: { topic: o }\ndeadLetter: { topic: d }\n');
    const io = capture();
    expect(await main(['dlq', 'replay', `--config=${config}`, '--since', 'yesterday'])).toBe(2);
    expect(io.stderr()).toMatch(/^sluice: SLUICE_ARGUMENT_INVALID: --since "yesterday" is neither an ISO-8601 time/);
  });
});
