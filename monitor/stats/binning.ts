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
  return edges;
}

/** The bin of x: the number of edges strictly below x (0..edges.length). Binary search. */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
