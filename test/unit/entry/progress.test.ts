import { describe, expect, it } from 'vitest';
import { ProgressReporter } from '../../../src/entry/progress.ts';

function output(isTTY: boolean) {
  const written: string[] = [];
  return { written, out: { isTTY, write: (text: string) => written.push(text) } };
}

describe('ProgressReporter', () => {
  it('writes a plain line per tenth of the way when stderr is not a terminal', () => {
    const { written, out } = output(false);
    const p = new ProgressReporter(out, 'replaying dlq');
    for (let done = 0n; done <= 100n; done += 5n) p.update(done, 100n, `${done} replayed`);
    p.finish();
    expect(written).toEqual(Array.from({ length: 11 }, (_, i) => `replaying dlq: ${i * 10}% ${i * 10} replayed\n`));
  });

  it('redraws one bar in place at a terminal, at most every 100 ms but always at the end, and ends its line', () => {
    const { written, out } = output(true);
    let clock = 1_000;
    const p = new ProgressReporter(out, 'reading', () => clock);
    p.update(0n, 4n, 'a');
    clock += 50;
    p.update(1n, 4n, 'b');
    clock += 10;
    p.update(4n, 4n, 'c');
    p.finish();
    expect(written[0]).toBe(`\rreading [${'-'.repeat(30)}] 0% a\x1b[K`);
    expect(written.at(-2)).toBe(`\rreading [${'#'.repeat(30)}] 100% c\x1b[K`);
    expect(written.at(-1)).toBe('\n');
    expect(written).toHaveLength(3);
  });

  it('counts an empty topic as done', () => {
    const { written, out } = output(false);
    new ProgressReporter(out, 'x').update(0n, 0n, 'nothing');
    expect(written).toEqual(['x: 100% nothing\n']);
  });
});
