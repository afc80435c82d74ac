/**
 * A numeric feature's window summary on fixed reference bins: per-bin counts and per-bin sums, plus n, min,
 * max, sum and sum of squares. Summaries of the same edges add up (mergeSummaries), so a window is the sum of
 * its time buckets' roll-ups and evaluation cost does not grow with traffic.
 *
 * Per-bin sums are what make the binned Wasserstein-1 distance exact wherever the two CDFs do not cross inside a
 * bin: ∫ F over a bin is determined by the bin's count and the sum of its values (docs/statistics.md).
 * Non-finite values (NaN, ±Infinity) are not counted.
 */
import { binIndex } from "./binning.ts";

export interface NumericSummary {
  /** Interior cut points, strictly ascending (the reference's). */
  edges: number[];
  /** counts[i]: values in bin i (edges.length + 1 bins, right-closed, open-ended outer bins). */
  counts: number[];
  /** sums[i]: the sum of the values in bin i. */
  sums: number[];
  n: number;
  /** Smallest and largest value; 0 when n = 0 (JSON has no Infinity). */
  min: number;
  max: number;
  sum: number;
  sumSq: number;
}

export function emptySummary(edges: readonly number[]): NumericSummary {
  const bins = edges.length + 1;
  return {
    edges: [...edges],
    counts: new Array<number>(bins).fill(0),
    sums: new Array<number>(bins).fill(0),
    n: 0,
    min: 0,
    max: 0,
    sum: 0,
    sumSq: 0,
  };
}

/** Adds one value to a summary in place (the streaming form of summarize). */
export function addValue(summary: NumericSummary, x: number): void {
  if (!Number.isFinite(x)) return;
  const bin = binIndex(summary.edges, x);
  summary.counts[bin]! += 1;
  summary.sums[bin]! += x;
  if (summary.n === 0) {
    summary.min = x;
    summary.max = x;
  } else {
    if (x < summary.min) summary.min = x;
    if (x > summary.max) summary.max = x;
  }
  summary.n += 1;
  summary.sum += x;
  summary.sumSq += x * x;
}

export function summarize(edges: readonly number[], values: Iterable<number>): NumericSummary {
  const summary = emptySummary(edges);
  for (const x of values) addValue(summary, x);
  return summary;
}

function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

/** The summary of the union of two windows. Both must be on the same edges (a RangeError otherwise). */
export function mergeSummaries(a: NumericSummary, b: NumericSummary): NumericSummary {
  if (!sameEdges(a.edges, b.edges)) throw new RangeError("cannot merge summaries on different bin edges");
  if (a.n === 0) return { ...b, edges: [...b.edges], counts: [...b.counts], sums: [...b.sums] };
  if (b.n === 0) return { ...a, edges: [...a.edges], counts: [...a.counts], sums: [...a.sums] };
  return {
    edges: [...a.edges],
    counts: a.counts.map((c, i) => c + b.counts[i]!),
    sums: a.sums.map((s, i) => s + b.sums[i]!),
    n: a.n + b.n,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum: a.sum + b.sum,
    sumSq: a.sumSq + b.sumSq,
  };
}

/** Population standard deviation (ddof = 0, as numpy.std), from the summary's moments. */
export function summaryStd(s: NumericSummary): number {
  if (s.n === 0) return 0;
  const mean = s.sum / s.n;
  return Math.sqrt(Math.max(0, s.sumSq / s.n - mean * mean));
}
