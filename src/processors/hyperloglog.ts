// countDistinct's sketch: HyperLogLog at precision 14 (16384 registers, standard error 0.81%, so
// 2% is about 2.5 standard errors), with HLL++'s sparse representation for small cardinalities
// and Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017), which needs no empirical bias tables.
//
// Hand-written because no npm package fits: bloom-filters' HyperLogLog and hyperloglog-lite keep
// only a dense register array (16 KB+ in every window, even one with three distinct values, where
// per-player windows need a few bytes), hash through binary strings, and use the original
// estimator, which is biased between small and large cardinalities.
//
// State:
//   number[]    sparse: sorted entries `index25 * 64 + rank`, one per occupied register of a
//               2^25-register sketch (rank: leading zeros of the other 39 hash bits, plus one);
//               at up to SPARSE_MAX entries its linear-counting estimate is all but exact;
//   Uint8Array  dense: one byte per register of the 2^14, its value plus 35, once the sparse list
//               would outgrow it. Updated in place, so a new register value costs one byte write
//               (an immutable string cost a 16 KB copy: ~3.7 µs per event while a sketch fills,
//               against ~0.2 µs). LMDB keeps it as binary and gives it back as a Buffer;
//   string      the dense form in JSON (changelog, partials): one character per register,
//               '#'..'V', so JSON needs no escapes. DenseRegisters.toJSON writes it. LMDB held it
//               too before the bytes (older stores still may): adding to it converts it.
// The dense registers follow from the sparse entries exactly, so adding and merging commute:
// the state is a function of the set of hashes seen, whatever the order or grouping.

export type HllState = number[] | Uint8Array | string;

const P = 14;
const M = 1 << P;
/** 64 - P: the hash bits a dense register's rank is counted in. */
const Q = 64 - P;
const SPARSE_BITS = 25;
const SPARSE_M = 2 ** SPARSE_BITS;
/** Above this many entries (about 11 KB as JSON) the dense registers (16 KB) are kept instead. */
const SPARSE_MAX = 1024;
const CHAR_BASE = 35;
const ALPHA_INF = 1 / (2 * Math.LN2);

/**
 * 64 bits of hash of `text` (as two unsigned 32-bit halves in `out`): cyrb53's two
 * multiply-xor lanes over the UTF-16 code units, each finished with MurmurHash3's fmix32.
 */
function hash64(text: string, out: [number, number]): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = fmix32(h1);
  out[1] = fmix32(h2 ^ h1);
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const scratch: [number, number] = [0, 0];

/** The sparse entry of a value: 1 and "1" are two values, as they are two groups. */
function entryOf(value: string | number | boolean): number {
  hash64(typeof value === 'string' ? '"' + value : String(value), scratch);
  const [hi, lo] = scratch;
  const index = hi >>> (32 - SPARSE_BITS);
  const rest = hi & ((1 << (32 - SPARSE_BITS)) - 1);
  const rank = rest !== 0 ? Math.clz32(rest) - SPARSE_BITS + 1 : 32 - SPARSE_BITS + Math.clz32(lo) + 1;
  return index * 64 + rank;
}

/** Register of a sparse entry in the dense sketch, and its rank there (the same hash bits, read at P). */
function denseIndex(entry: number): number {
  return Math.floor(entry / 64) >>> (SPARSE_BITS - P);
}

function denseRank(entry: number): number {
  const low = Math.floor(entry / 64) & ((1 << (SPARSE_BITS - P)) - 1);
  return low !== 0 ? Math.clz32(low) - (32 - SPARSE_BITS + P) + 1 : SPARSE_BITS - P + (entry % 64);
}

/** The dense registers, written to JSON as the string form (see above). */
class DenseRegisters extends Uint8Array {
  toJSON(): string {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString('latin1');
  }
}

/** Dense registers as bytes (value + CHAR_BASE), a fresh copy. */
function registers(state: HllState): DenseRegisters {
  if (typeof state === 'string') return new DenseRegisters(Buffer.from(state, 'latin1'));
  if (!Array.isArray(state)) return new DenseRegisters(state);
  const regs = new DenseRegisters(M).fill(CHAR_BASE);
  for (const entry of state) {
    const i = denseIndex(entry);
    regs[i] = Math.max(regs[i]!, CHAR_BASE + denseRank(entry));
  }
  return regs;
}

export function hllAdd(state: HllState, value: string | number | boolean): HllState {
  const entry = entryOf(value);
  if (!Array.isArray(state)) {
    // A string (JSON) or a Buffer (LMDB) is copied once; the copy is then updated in place.
    const regs = state instanceof DenseRegisters ? state : registers(state);
    const i = denseIndex(entry);
    const code = CHAR_BASE + denseRank(entry);
    if (code > regs[i]!) regs[i] = code;
    return regs;
  }
  const index = Math.floor(entry / 64);
  let lo = 0;
  let hi = state.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Math.floor(state[mid]! / 64) < index) lo = mid + 1;
    else hi = mid;
  }
  if (lo < state.length && Math.floor(state[lo]! / 64) === index) {
    if (entry > state[lo]!) state[lo] = entry;
    return state;
  }
  state.splice(lo, 0, entry);
  return state.length > SPARSE_MAX ? registers(state) : state;
}

export function hllMerge(a: HllState, b: HllState): HllState {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const x = i < a.length ? Math.floor(a[i]! / 64) : Infinity;
      const y = j < b.length ? Math.floor(b[j]! / 64) : Infinity;
      if (x === y) out.push(Math.max(a[i++]!, b[j++]!));
      else out.push(x < y ? a[i++]! : b[j++]!);
    }
    return out.length > SPARSE_MAX ? registers(out) : out;
  }
  const regs = registers(a);
  const other = typeof b === 'string' || Array.isArray(b) ? registers(b) : b;
  for (let i = 0; i < M; i++) if (other[i]! > regs[i]!) regs[i] = other[i]!;
  return regs;
}

export function hllEstimate(state: HllState): number {
  if (Array.isArray(state)) return SPARSE_M * Math.log(SPARSE_M / (SPARSE_M - state.length));
  const regs = typeof state === 'string' ? registers(state) : state;
  const counts = new Array<number>(Q + 2).fill(0);
  for (let i = 0; i < M; i++) counts[regs[i]! - CHAR_BASE]!++;
  let z = M * tau(1 - counts[Q + 1]! / M);
  for (let k = Q; k >= 1; k--) z = 0.5 * (z + counts[k]!);
  z += M * sigma(counts[0]! / M);
  return (ALPHA_INF * M * M) / z;
}

export function isHllState(state: unknown): boolean {
  if (typeof state === 'string' || state instanceof Uint8Array) return state.length === M;
  return Array.isArray(state) && (state.length === 0 || Number.isInteger(state[0]));
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const before = z;
    z += x * y;
    y += y;
    if (z === before) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const before = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === before) return z / 3;
  }
}
