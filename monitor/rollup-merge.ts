/**
 * Adding a batch's numeric roll-up delta to a stored roll-up row, in JS (pure): the same arithmetic the additive
 * SQL upsert does (element-wise counts and sums, n, sum, sum of squares; min/max widened only by a delta that
 * adds values — a negative, erasing delta keeps them as they were).
 */
export interface StoredNumeric {
  counts: number[];
  sums: number[];
  n: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
}

function addArrays(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError("roll-up bins differ in number");
  return a.map((x, i) => x + b[i]!);
}

export function addNumericDelta(stored: StoredNumeric, delta: StoredNumeric): StoredNumeric {
  const widen = delta.n > 0;
  return {
    counts: addArrays(stored.counts, delta.counts),
    sums: addArrays(stored.sums, delta.sums),
    n: stored.n + delta.n,
    sum: stored.sum + delta.sum,
    sumSq: stored.sumSq + delta.sumSq,
    min: widen ? Math.min(stored.min, delta.min) : stored.min,
    max: widen ? Math.max(stored.max, delta.max) : stored.max,
  };
}
