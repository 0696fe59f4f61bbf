// One total order over the scalar values an event field may hold, so that every choice between
// two values (first/last at one event time, topK ties, topK members' place in state) depends only
// on the values, never on which partition or batch brought them: false < true < numbers
// (ascending) < strings (by UTF-16 code units, as JavaScript's `<` compares them).
export type Scalar = string | number | boolean;

export function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';
}

function typeRank(v: Scalar): number {
  return typeof v === 'boolean' ? 0 : typeof v === 'number' ? 1 : 2;
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareScalars(a: Scalar, b: Scalar): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  // -0 and 0 are one value: JSON writes both as 0.
  return a < b ? -1 : a > b ? 1 : 0;
}
