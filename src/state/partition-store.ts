// The raw LMDB layer: one environment per input partition, owned by exactly one lane, so no two
// lanes ever contend for a write lock. State lives here, memory-mapped, not on the V8 heap.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';

/** One window's accumulator for one group, as stored and as written to the changelog. */
export interface WindowState {
  /** window definition name */
  w: string;
  /** group values, in groupBy order */
  g: unknown[];
  /** window start, epoch ms */
  s: number;
  /** per-aggregate states, in aggregate order */
  a: unknown[];
}

export interface StoreMeta {
  /** next input offset to process; undefined when the partition was never committed */
  inputOffset: string | undefined;
  /** changelog offset from which a replay must start to bring this store up to date */
  changelogNext: string | undefined;
  /** largest event time that reached the stream-time step; -Infinity before the first event */
  streamTime: number;
  /** wall clock of the last local commit, to tell whether changelog tombstones may be gone */
  committedAtMs: number | undefined;
  /** false when the store was written unsynced before the machine last booted: it may be torn */
  sameBoot: boolean;
}

type IndexKey = [number, string];

/** Computes when an entry stops mattering, so the store can keep time-ordered indexes of its own. */
export interface StoreTimes {
  windowCloseAt(state: WindowState): number;
  dedupeForgetAt(t0: number): number;
}

const META_KEYS = ['inputOffset', 'changelogNext', 'streamTime', 'committedAtMs'] as const;
const WATERMARK_PREFIX = 'wm:';
const BOOT_KEY = 'bootId';

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * Commits skip fsync where the OS boot can be identified. The changelog, not LMDB, is what makes
 * state durable: a killed process leaves its writes in the page cache, which is all a restart on
 * the same boot needs, and a store last written before a reboot (possibly torn, as LMDB without
 * sync may be after a system crash) is wiped and restored from the changelog, as Kafka Streams
 * does after an unclean shutdown. The fsync cost about 1 ms of a 1.3 ms 100-key commit on this
 * machine, and it blocks the event loop that every lane of a worker shares.
 */
const BOOT_ID = readBootId();

export class PartitionStore {
  readonly path: string;
  private readonly env: RootDatabase;
  private readonly dedupeDb: Database<number, string>;
  private readonly windowDb: Database<WindowState, string>;
  private readonly closeIndex: Database<true, IndexKey>;
  private readonly forgetIndex: Database<true, IndexKey>;
  private readonly metaDb: Database<unknown, string>;
  private readonly times: StoreTimes;
  private readonly bootId: string | null;
  private sameBoot: boolean;

  /** `bootId` is the running OS boot's id (tests pass their own); null commits with fsync */
  constructor(path: string, times: StoreTimes, bootId: string | null = BOOT_ID) {
    this.path = path;
    this.times = times;
    this.bootId = bootId;
    mkdirSync(dirname(path), { recursive: true });
    this.env = open({ path, maxDbs: 8, compression: false, noSync: bootId !== null });
    this.dedupeDb = this.env.openDB({ name: 'dedupe' });
    this.windowDb = this.env.openDB({ name: 'windows' });
    this.closeIndex = this.env.openDB({ name: 'window-close-index' });
    this.forgetIndex = this.env.openDB({ name: 'dedupe-forget-index' });
    this.metaDb = this.env.openDB({ name: 'meta' });
    const written = this.metaDb.get(BOOT_KEY) as string | undefined;
    // A store without a boot id was committed with fsync (or is empty): it is as good as its data.
    this.sameBoot = written === undefined || written === bootId;
    if (written === undefined) this.markBoot();
  }

  private markBoot(): void {
    const id = this.bootId;
    if (id !== null) this.env.transactionSync(() => this.metaDb.putSync(BOOT_KEY, id));
  }

  getDedupe(id: string): number | undefined {
    return this.dedupeDb.get(id);
  }

  getWindow(key: string): WindowState | undefined {
    return this.windowDb.get(key);
  }

  /** A merge lane's per-source watermarks (source partition -> watermark). */
  watermarks(): Map<number, number> {
    const out = new Map<number, number>();
    for (const { key, value } of this.metaDb.getRange({ start: WATERMARK_PREFIX, end: `${WATERMARK_PREFIX}\uffff` })) {
      out.set(Number(String(key).slice(WATERMARK_PREFIX.length)), value as number);
    }
    return out;
  }

  meta(): StoreMeta {
    const streamTime = this.metaDb.get('streamTime');
    return {
      inputOffset: this.metaDb.get('inputOffset') as string | undefined,
      changelogNext: this.metaDb.get('changelogNext') as string | undefined,
      streamTime: typeof streamTime === 'number' ? streamTime : Number.NEGATIVE_INFINITY,
      committedAtMs: this.metaDb.get('committedAtMs') as number | undefined,
      sameBoot: this.sameBoot,
    };
  }

  /** Windows whose close time is at or before `time`, oldest first. */
  *windowsClosingBy(time: number, limit: number): Generator<string> {
    for (const key of this.closeIndex.getKeys({ end: [time, '\uffff'], limit })) yield (key as IndexKey)[1];
  }

  /** Dedupe ids that may be forgotten once stream time reaches `time`. */
  *idsForgettableBy(time: number, limit: number): Generator<string> {
    for (const key of this.forgetIndex.getKeys({ end: [time, '\uffff'], limit })) yield (key as IndexKey)[1];
  }

  countDedupe(): number {
    return this.dedupeDb.getCount();
  }

  countWindows(): number {
    return this.windowDb.getCount();
  }

  /**
   * Runs `fn` inside one synchronous LMDB write transaction: either all of its writes land or none
   * do, which is what lets a crash leave the store at a consistent (possibly older) point.
   */
  write(fn: (w: StoreWriter) => void): void {
    this.env.transactionSync(() => fn(this.writer));
  }

  private readonly writer: StoreWriter = {
    putDedupe: (id, t0, previous) => {
      const old = previous === undefined ? this.dedupeDb.get(id) : (previous ?? undefined);
      if (old !== undefined) this.forgetIndex.removeSync([this.times.dedupeForgetAt(old), id]);
      this.dedupeDb.putSync(id, t0);
      this.forgetIndex.putSync([this.times.dedupeForgetAt(t0), id], true);
    },
    deleteDedupe: (id) => {
      const old = this.dedupeDb.get(id);
      if (old === undefined) return;
      this.forgetIndex.removeSync([this.times.dedupeForgetAt(old), id]);
      this.dedupeDb.removeSync(id);
    },
    putWindow: (key, state, isNew) => {
      // A window's close time never changes, so only a new window needs an index entry.
      if (isNew ?? this.windowDb.get(key) === undefined) this.closeIndex.putSync([this.times.windowCloseAt(state), key], true);
      this.windowDb.putSync(key, state);
    },
    deleteWindow: (key) => {
      const old = this.windowDb.get(key);
      if (old === undefined) return;
      this.closeIndex.removeSync([this.times.windowCloseAt(old), key]);
      this.windowDb.removeSync(key);
    },
    setWatermark: (source, watermark) => {
      this.metaDb.putSync(`${WATERMARK_PREFIX}${source}`, watermark);
    },
    setMeta: (meta) => {
      for (const k of META_KEYS) {
        const v = meta[k];
        if (v === undefined) continue;
        this.metaDb.putSync(k, v);
      }
    },
  };

  /** Drops every entry: used before a full restore from the changelog. */
  wipe(): void {
    this.env.transactionSync(() => {
      this.dedupeDb.clearSync();
      this.windowDb.clearSync();
      this.closeIndex.clearSync();
      this.forgetIndex.clearSync();
      this.metaDb.clearSync();
    });
    this.sameBoot = true;
    this.markBoot();
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}

// The optional arguments carry what the caller already knows, which saves a read per key on the
// commit path (a third of its time in bench/hot-path.ts); the restore path leaves them out.
export interface StoreWriter {
  /** `previous`: the stored t0 this replaces, null when there is none, undefined when unknown */
  putDedupe(id: string, t0: number, previous?: number | null): void;
  deleteDedupe(id: string): void;
  /** `isNew`: whether the store lacks the key, undefined when unknown */
  putWindow(key: string, state: WindowState, isNew?: boolean): void;
  deleteWindow(key: string): void;
  setWatermark(source: number, watermark: number): void;
  setMeta(meta: Partial<StoreMeta>): void;
}
