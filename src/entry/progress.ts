// Progress of a long CLI task on stderr: a bar redrawn in place at a terminal, and a plain line
// per tenth of the way when stderr is a pipe or a file (a log keeps ten lines, not thousands).

const BAR_WIDTH = 30;
/** Redrawing more often than this only costs the terminal. */
const REDRAW_MS = 100;

export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressReporter {
  private readonly out: ProgressOutput;
  private readonly label: string;
  private lastDraw = 0;
  private lastTenth = -1;
  private drawn = false;
  private readonly now: () => number;

  constructor(out: ProgressOutput, label: string, now: () => number = Date.now) {
    this.out = out;
    this.label = label;
    this.now = now;
  }

  /** `note`: what has happened so far, e.g. "120 replayed" */
  update(done: bigint, total: bigint, note: string): void {
    const fraction = total === 0n ? 1 : Number((done * 1000n) / total) / 1000;
    if (this.out.isTTY === true) {
      const now = this.now();
      if (now - this.lastDraw < REDRAW_MS && fraction < 1) return;
      this.lastDraw = now;
      const filled = Math.round(fraction * BAR_WIDTH);
      this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(fraction * 100)}% ${note}\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.out.write(`${this.label}: ${tenth * 10}% ${note}\n`);
  }

  /** Ends the bar's line, so that what is printed next starts on a line of its own. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
