// RSS and CPU time of a process from /proc (Linux): how the bench sees sluice's whole process, and
// how much of the machine the broker and the load generator took meanwhile.
import { readFileSync } from 'node:fs';

/** Linux clock ticks per second (USER_HZ), which /proc/<pid>/stat counts CPU time in. */
const CLOCK_TICKS = 100;

export interface ProcStats {
  rss: number;
  /** user + system CPU seconds since the process started */
  cpuSeconds: number;
}

/** undefined off Linux, or when the process is gone. */
export function procStats(pid: number): ProcStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const rssKb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (rssKb === undefined || !Number.isFinite(cpuSeconds)) return undefined;
    return { rss: Number(rssKb) * 1024, cpuSeconds };
  } catch {
    return undefined;
  }
}

/** CPU seconds of each named process, now; processes that cannot be read are left out. */
export function cpuOf(pids: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const stats = pid === undefined ? undefined : procStats(pid);
    if (stats) out[name] = stats.cpuSeconds;
  }
  return out;
}

/** Cores each process used on average between two `cpuOf` readings `seconds` apart. */
export function coresBetween(a: Record<string, number>, b: Record<string, number>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, end] of Object.entries(b)) {
    const start = a[name];
    if (start !== undefined && seconds > 0) out[name] = Math.round(((end - start) / seconds) * 100) / 100;
  }
  return out;
}

export interface RssSplit {
  /** resident pages of LMDB's memory-mapped files: a `.mdb` file, or any file under the state dir */
  lmdb: number;
  /** everything else resident: heaps, code, buffers, native allocations */
  other: number;
}

/**
 * The process's resident set split by mapping, from /proc/<pid>/smaps (one process: sluice's
 * worker threads share it). LMDB's pages are the kernel's page cache mapped in, reclaimable
 * under memory pressure; the rest is what the process itself holds. undefined off Linux.
 */
export function rssSplit(pid: number, stateDir: string): RssSplit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const split = { lmdb: 0, other: 0 };
  const under = stateDir.endsWith('/') ? stateDir : `${stateDir}/`;
  let isLmdb = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      // address perms offset dev inode [path]: the path is the sixth field onwards
      const path = line.split(/\s+/).slice(5).join(' ').replace(/ \(deleted\)$/, '');
      isLmdb = path.endsWith('.mdb') || path.startsWith(under);
    } else if (line.startsWith('Rss:')) {
      const bytes = Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
      if (isLmdb) split.lmdb += bytes;
      else split.other += bytes;
    }
  }
  return split;
}
