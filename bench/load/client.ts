// The parent's handle on the load generator child: commands in, reports out, each command
// awaiting the report that finishes it. Per-second ticks and phase starts are also pushed to
// listeners as they arrive, so the bench can scrape sluice at the exact phase boundaries.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadCommand, LoadInit, LoadReport, PhaseResult, ProfilePhase } from './protocol.ts';

const SCRIPT = fileURLToPath(new URL('./generator.ts', import.meta.url));

type Waiter = { type: LoadReport['type']; resolve: (r: LoadReport) => void; reject: (e: Error) => void };

export interface Tick {
  phase: string;
  second: number;
  endMs: number;
  produced: number;
}

export class LoadClient {
  private readonly child: ChildProcess;
  private waiter: Waiter | undefined;
  private failure: Error | undefined;
  readonly ticks: Tick[] = [];
  onPhase: (name: string, startMs: number) => void = () => undefined;
  onTick: (tick: Tick) => void = () => undefined;

  constructor() {
    this.child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (msg) => this.receive(msg as LoadReport));
    this.child.on('exit', (code, signal) => {
      if (code === 0 && this.waiter === undefined) return;
      this.fail(new Error(`load generator exited (code ${code}, signal ${signal})`));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  private receive(msg: LoadReport): void {
    if (msg.type === 'error') return this.fail(new Error(`load generator: ${msg.message}`));
    if (msg.type === 'phase') this.onPhase(msg.name, msg.startMs);
    if (msg.type === 'tick') {
      this.ticks.push(msg);
      this.onTick(msg);
    }
    if (this.waiter?.type === msg.type) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(msg);
    }
  }

  private request<T extends LoadReport['type']>(cmd: LoadCommand, until: T): Promise<Extract<LoadReport, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error(`load generator busy (waiting for ${this.waiter.type})`));
    return new Promise((resolve, reject) => {
      this.waiter = { type: until, resolve: (r) => resolve(r as Extract<LoadReport, { type: T }>), reject };
      this.child.send(cmd);
    });
  }

  async init(init: Omit<LoadInit, 'cmd'>): Promise<void> {
    await this.request({ cmd: 'init', ...init }, 'ready');
  }

  /** Produces the backlog to every topic in open transactions; see `release`. */
  async backlog(count: number, topics: string[]): Promise<{ produced: number; ms: number; perPartition: number[] }> {
    return this.request({ cmd: 'backlog', count, topics }, 'backlog-done');
  }

  /** Commits `topic`'s backlog: read_committed consumers see all of it at once. */
  async release(topic: string): Promise<number[]> {
    return (await this.request({ cmd: 'release', topic }, 'released')).targets;
  }

  async profile(phases: ProfilePhase[]): Promise<{ phases: PhaseResult[]; targets: number[] }> {
    const done = await this.request({ cmd: 'profile', phases }, 'profile-done');
    return { phases: done.phases, targets: done.targets };
  }

  async flush(): Promise<number[]> {
    return (await this.request({ cmd: 'flush' }, 'flush-done')).targets;
  }

  async close(): Promise<{ perPartition: number[]; ends: number[]; generated: number; duplicates: number }> {
    const { perPartition, ends, generated, duplicates } = await this.request({ cmd: 'close' }, 'closed');
    return { perPartition, ends, generated, duplicates };
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
