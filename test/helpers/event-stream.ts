// Deterministic "treasure hunt" player-action streams for end-to-end checks against the oracle.
// Every random choice comes from one seeded PRNG so a failing seed can be replayed exactly.
import type { OracleRecord } from './oracle.ts';

export type InvalidKind =
  | 'not-json'
  | 'json-array'
  | 'missing-id'
  | 'missing-ts'
  | 'zoneless-ts'
  | 'string-points'
  | 'key-mismatch'
  | 'null-value'
  | 'object-group';

export type EventKind =
  | 'normal'
  | 'iso-time'
  | 'duplicate-exact'
  | 'duplicate-shifted'
  | 'out-of-order'
  | 'late'
  | 'repeat-after-ttl'
  | 'late-retry'
  | 'late-retry-expired'
  | 'odd-group'
  | 'flush'
  | InvalidKind;

export const INVALID_KINDS: readonly InvalidKind[] = ['not-json', 'json-array', 'missing-id', 'missing-ts', 'zoneless-ts', 'string-points', 'key-mismatch', 'null-value', 'object-group'];

/** An input record plus why the generator made it; `kind` is for test diagnostics, not for Kafka. */
export type GeneratedRecord = OracleRecord & { kind: EventKind };

export type StreamOptions = {
  seed: number;
  partitions: number;
  /** Total records produced, every kind included. */
  events: number;
  players?: number;
  baseTimeMs?: number;
  /** Mean event-time advance per record on each partition. */
  stepMs?: number;
  /** About one record in this many is invalid; 0 disables. */
  invalidEvery?: number;
  duplicateRate?: number;
  outOfOrderRate?: number;
  lateRate?: number;
  /**
   * Needs a stream whose per-partition span exceeds ttlMs (events / partitions * stepMs);
   * until then these fall back to normal events.
   */
  repeatAfterTtlRate?: number;
  isoTimeRate?: number;
  /** Share of events whose eventId is a JSON number rather than a string. */
  numericIdRate?: number;
  /** Must match the pipeline's dedupe ttl so repeats land after it and shifted duplicates within it. */
  ttlMs?: number;
  /** Must stay below the smallest window grace so these are still accepted. */
  outOfOrderMaxMs?: number;
  /** Must exceed the largest size + grace so these are late for every window. */
  lateByMs?: number;
  /**
   * Exact retries of events whose windows have all closed: `late-retry` while the id is still
   * kept (a duplicate), `late-retry-expired` once stream time has passed t0 + ttl + the longest
   * window + the longest grace (late). Each needs that much history on the partition.
   */
  lateRetryRate?: number;
  /** Valid events whose action and region collided with others when keys were joined with "|". */
  oddGroupRate?: number;
};

export const ACTIONS = ['dig', 'trade', 'find'] as const;

/** Drawn per event independently of the player, so every region shows up on every partition. */
export const REGIONS = ['eu', 'us', 'apac'] as const;

/** Group values that shared a window key with another while keys were String(value) joined with "|". */
export const ODD_ACTIONS: readonly unknown[] = [1, '1', true, 'true', 'null', 'dig|x', 'dig'];
export const ODD_REGIONS: readonly unknown[] = [2, '2', false, 'false', 'eu|us', 'eu'];

type PlayerEvent = { eventId: string | number; playerId: string; action: unknown; points: number | string; score: number; ts: number | string; region: unknown };

type Sent = { eventId: string | number; player: string; ts: number; value: string };

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit FNV-1a over UTF-8; tests produce to this partition explicitly, so it need not match Kafka's. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

export function partitionFor(key: string, partitions: number): number {
  return fnv1a(key) % partitions;
}

/** The first `player-<n>` name that lands on `partition`. */
export function playerOnPartition(partition: number, partitions: number, from = 0): string {
  for (let n = from; ; n++) if (partitionFor(`player-${n}`, partitions) === partition) return `player-${n}`;
}

export function generateStream(opts: StreamOptions): GeneratedRecord[] {
  const o = {
    players: 20,
    baseTimeMs: Date.UTC(2024, 0, 1),
    stepMs: 20,
    invalidEvery: 50,
    duplicateRate: 0.04,
    outOfOrderRate: 0.05,
    lateRate: 0.005,
    repeatAfterTtlRate: 0.005,
    isoTimeRate: 0.05,
    numericIdRate: 0.1,
    ttlMs: 120_000,
    outOfOrderMaxMs: 8_000,
    lateByMs: 10 * 60_000,
    lateRetryRate: 0.004,
    oddGroupRate: 0.01,
    ...opts,
  };
  const rand = mulberry32(o.seed);
  const int = (min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  // A PRNG of its own, so adding regions left every other field of an existing seed's stream as it was.
  const regionRand = mulberry32(fnv1a(`region:${o.seed}`));
  const region = (): string => REGIONS[Math.floor(regionRand() * REGIONS.length)]!;
  // The same for the kinds added later, which go between the records the main PRNG makes.
  const extraRand = mulberry32(fnv1a(`extras:${o.seed}`));
  const extraPick = <T>(items: readonly T[]): T => items[Math.floor(extraRand() * items.length)]!;
  let extraSeq = 0;
  // For the test pipelines: a retry is late once stream time is 330 s past it (5 m window + 30 s
  // grace), and its id is kept until 450 s (+ 2 m ttl); the margins absorb how far the
  // partition's stream time may be from its clock.
  const keptRetryAgeMs = [360_000, 430_000] as const;
  const expiredRetryAgeMs = 480_000;

  const playersOf: string[][] = Array.from({ length: o.partitions }, () => []);
  for (let n = 0; n < o.players; n++) playersOf[partitionFor(`player-${n}`, o.partitions)]!.push(`player-${n}`);
  // Every partition needs a player, or its clock and offsets would never move.
  for (let p = 0; p < o.partitions; p++) if (playersOf[p]!.length === 0) playersOf[p]!.push(playerOnPartition(p, o.partitions, o.players));

  const clock = new Array<number>(o.partitions).fill(o.baseTimeMs);
  const offsets = new Array<number>(o.partitions).fill(0);
  const history: Sent[][] = Array.from({ length: o.partitions }, () => []);
  const out: GeneratedRecord[] = [];
  let seq = 0;

  // Numeric ids start at 0 on purpose: a falsy id must still be an id.
  const newId = (): string | number => (rand() < o.numericIdRate ? seq++ : `e${o.seed}-${seq++}`);
  const event = (player: string, ts: number | string, eventId = newId()): PlayerEvent => ({
    eventId,
    playerId: player,
    action: pick(ACTIONS),
    points: int(0, 50),
    score: int(-50, 999),
    ts,
    region: region(),
  });
  const emit = (p: number, kind: EventKind, key: string | null, value: string | null, timestampMs: number): void => {
    out.push({ partition: p, offset: offsets[p]!++, key, value, timestampMs, kind });
  };
  const emitCounted = (p: number, kind: EventKind, e: PlayerEvent, ts: number): Sent => {
    const value = JSON.stringify(e);
    emit(p, kind, e.playerId, value, ts);
    return { eventId: e.eventId, player: e.playerId, ts, value };
  };

  // Each builds on a well-formed event so exactly one thing is wrong with it.
  const breakers: Record<InvalidKind, (e: PlayerEvent, now: number) => { key?: string; value: string | null }> = {
    'not-json': (e) => ({ value: JSON.stringify(e).slice(0, 30) }),
    'json-array': (e) => ({ value: JSON.stringify([e]) }),
    'missing-id': (e) => ({ value: JSON.stringify({ ...e, eventId: undefined }) }),
    'missing-ts': (e) => ({ value: JSON.stringify({ ...e, ts: undefined }) }),
    'zoneless-ts': (e, now) => ({ value: JSON.stringify({ ...e, ts: new Date(now).toISOString().slice(0, -1) }) }),
    'string-points': (e) => ({ value: JSON.stringify({ ...e, points: String(e.points) }) }),
    'key-mismatch': (e) => ({ key: `${e.playerId}-other`, value: JSON.stringify(e) }),
    'null-value': () => ({ value: null }),
    'object-group': (e) => ({ value: JSON.stringify({ ...e, action: { name: e.action } }) }),
  };

  /** Maybe one record of a later-added kind, drawn from extraRand only; true when it made one. */
  const extra = (): boolean => {
    const roll = extraRand();
    if (roll >= o.oddGroupRate + 2 * o.lateRetryRate) return false;
    const p = Math.floor(extraRand() * o.partitions);
    const now = clock[p]!;
    if (roll < o.oddGroupRate) {
      const e = { eventId: `odd${o.seed}-${extraSeq++}`, playerId: extraPick(playersOf[p]!), action: extraPick(ODD_ACTIONS), points: Math.floor(extraRand() * 51), score: Math.floor(extraRand() * 100), ts: now, region: extraPick(ODD_REGIONS) };
      emit(p, 'odd-group', e.playerId, JSON.stringify(e), now);
      return true;
    }
    const expired = roll >= o.oddGroupRate + o.lateRetryRate;
    const fits = (ts: number): boolean => (expired ? now - ts >= expiredRetryAgeMs : now - ts >= keptRetryAgeMs[0] && now - ts <= keptRetryAgeMs[1]);
    const candidates = history[p]!.filter((sent) => fits(sent.ts));
    if (candidates.length === 0) return false;
    const original = extraPick(candidates);
    emit(p, expired ? 'late-retry-expired' : 'late-retry', original.player, original.value, original.ts);
    return true;
  };

  for (let i = 0; i < o.events; i++) {
    if (extra()) continue;
    const p = int(0, o.partitions - 1);
    const player = pick(playersOf[p]!);
    const now = (clock[p] = clock[p]! + int(0, 2 * o.stepMs));
    const past = history[p]!;

    if (o.invalidEvery > 0 && rand() < 1 / o.invalidEvery) {
      const kind = pick(INVALID_KINDS);
      const broken = breakers[kind](event(player, now, `bad${o.seed}-${seq++}`), now);
      emit(p, kind, broken.key ?? player, broken.value, now);
      continue;
    }
    // Cumulative bands over one roll; a kind whose precondition fails falls through to the next.
    const roll = rand();
    let band = 0;
    const within = (rate: number): boolean => roll < (band += rate);
    if (within(o.duplicateRate) && past.length > 0) {
      const original = pick(past.slice(-20));
      if (rand() < 0.5) {
        emit(p, 'duplicate-exact', original.player, original.value, original.ts);
      } else {
        const ts = original.ts + int(1, 5_000);
        emit(p, 'duplicate-shifted', original.player, JSON.stringify({ ...(JSON.parse(original.value) as PlayerEvent), ts }), ts);
      }
      continue;
    }
    if (within(o.outOfOrderRate)) {
      const ts = now - int(1, o.outOfOrderMaxMs);
      past.push(emitCounted(p, 'out-of-order', event(player, ts), ts));
      continue;
    }
    // Only late once stream time exists; before that nothing is closed.
    if (within(o.lateRate) && past.length > 0) {
      const ts = now - o.lateByMs - int(0, 60_000);
      emitCounted(p, 'late', event(player, ts), ts);
      continue;
    }
    if (within(o.repeatAfterTtlRate)) {
      const old = past.length > 0 ? pick(past) : undefined;
      if (old !== undefined && old.ts < now - o.ttlMs - 1_000) {
        // The repeat is a new first sighting, so later repeats must measure ttl from here.
        Object.assign(old, emitCounted(p, 'repeat-after-ttl', event(old.player, now, old.eventId), now));
        continue;
      }
    }
    if (rand() < o.isoTimeRate) {
      const iso = rand() < 0.5 ? new Date(now).toISOString() : isoWithOffset(now, pick([120, -300, 330, -570]));
      past.push(emitCounted(p, 'iso-time', event(player, iso), now));
    } else {
      past.push(emitCounted(p, 'normal', event(player, now), now));
    }
  }
  return out;
}

function isoWithOffset(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, -1);
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${offsetMin < 0 ? '-' : '+'}${hh}:${mm}`;
}

/**
 * One valid event per partition an hour after `afterTimeMs`, so stream time passes every earlier
 * window's end + grace. Offsets continue after `stream`'s; the oracle must see these too.
 */
export function closingRecords(partitions: number, afterTimeMs: number, stream: readonly OracleRecord[] = []): GeneratedRecord[] {
  const next = new Array<number>(partitions).fill(0);
  for (const r of stream) next[r.partition] = Math.max(next[r.partition] ?? 0, r.offset + 1);
  const ts = afterTimeMs + 3_600_000;
  return next.map((offset, p) => {
    const playerId = playerOnPartition(p, partitions);
    const value = JSON.stringify({ eventId: `flush-${p}-${ts}`, playerId, action: 'dig', points: 0, score: 0, ts, region: REGIONS[p % REGIONS.length] });
    return { partition: p, offset, key: playerId, value, timestampMs: ts, kind: 'flush' as const };
  });
}

/** `stream` followed by its closing records, timed after the latest record timestamp in it. */
export function withClosingRecords(stream: readonly GeneratedRecord[], partitions: number): GeneratedRecord[] {
  const latest = stream.reduce((max, r) => Math.max(max, r.timestampMs), -Infinity);
  return [...stream, ...closingRecords(partitions, Number.isFinite(latest) ? latest : 0, stream)];
}

/**
 * Partition 0's records first, in offset order, then everything else in its original order: one
 * partition's watermark runs far ahead of the others. Each partition keeps its own order, so
 * offsets come out as generated.
 */
export function skewedOrder<T extends OracleRecord>(records: readonly T[]): T[] {
  const first = records.filter((r) => r.partition === 0).sort((a, b) => a.offset - b.offset);
  return [...first, ...records.filter((r) => r.partition !== 0)];
}

export { CROSS_TEST_PIPELINE, DEFAULT_TEST_PIPELINE, pipelineYaml } from './test-pipeline.ts';
export type { PipelineYamlOptions } from './test-pipeline.ts';
