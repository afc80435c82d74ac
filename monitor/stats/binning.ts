/**
 * Reference bins for numeric drift: interior cut points at the reference's quantiles, with open-ended outer
 * bins, so every value of any later window falls in exactly one bin.
 *
 * Bins are right-closed: bin i holds edges[i-1] < x ≤ edges[i] (bin 0 is x ≤ edges[0], the last bin is
 * x > edges[edges.length-1]). With right-closed bins the cumulative count up to bin i is exactly the empirical
 * CDF at edges[i], which is what makes the binned Kolmogorov–Smirnov statistic exact at the edges (see
 * docs/statistics.md). Edges are actual reference values (inverted-CDF quantiles), so a heavily tied value is an
 * edge itself and its whole point mass sits at a bin boundary rather than inside a bin.
 */

/**
 * Number of reference bins. The binned KS statistic errs by at most the largest reference bin mass (1/DEFAULT_BINS
 * for untied data) and the binned Wasserstein-1 distance is exact except in bins where the two CDFs cross; 100
 * bins keep both under 0.01 on the scenarios measured in docs/statistics.md (the bound is 0.02).
 */
export const DEFAULT_BINS = 100;

/** Interior cut points at the reference's k/bins quantiles (k = 1..bins-1), strictly ascending, finite only. */
export function referenceEdges(values: readonly number[], bins: number = DEFAULT_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const finite = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
  const n = finite.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  for (let k = 1; k < bins; k++) {
    // Inverted-CDF quantile (Hyndman & Fan type 1): the smallest value whose ECDF reaches k/bins.
    const index = Math.max(0, Math.ceil((n * k) / bins) - 1);
    const edge = finite[index]!;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  // A tied edge (a value the reference holds more than once) gets a bin of its own: the float just below it
  // becomes an edge too, so bin (nextDown(v), v] holds exactly the value v. Without it a point mass would share a
  // bin with the values just below it, and the binned KS statistic could miss the jump there.
  const out: number[] = [];
  for (const edge of edges) {
    const below = nextDown(edge);
    if (isTied(finite, edge) && (out.length === 0 || below > out[out.length - 1]!)) out.push(below);
    out.push(edge);
  }
  return out;
}

/** Whether v occurs at least twice in the sorted array. */
function isTied(sorted: Float64Array, v: number): boolean {
  const i = binIndex(sorted, v);
  return sorted[i] === v && sorted[i + 1] === v;
}

/** The largest double below x (IEEE 754 nextafter towards −∞) for finite x. */
export function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] = x > 0 ? bits[0]! - 1n : bits[0]! + 1n;
  return f[0]!;
}

/** The bin of x: the number of edges strictly below x (0..edges.length). Binary search. */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
