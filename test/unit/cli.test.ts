// The CLI's answers to a wrong command line: what is wrong first, then the usage, exit 2. These
// return before anything connects, so they run in-process.
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
});
