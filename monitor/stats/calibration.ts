/**
 * Expected calibration error with a percentile-bootstrap interval.
 *
 * ECE = Σ_b (W_b / W) · |mean truth in b − mean score in b| over equal-width score bins on [0, 1], binned as
 * scikit-learn's calibration_curve(strategy="uniform") bins (right-closed: a score of exactly 0.1 is in the first
 * of ten bins; scores outside [0, 1] fall in the outer bins). Weighted means with Horvitz–Thompson weights.
 * The interval resamples the cases with replacement `resamples` times (default 2000) from a Mersenne Twister
 * seeded with `seed` (@stdlib/random-base-mt19937; default seed 1, so evaluations are reproducible) and takes the
 * (1−c)/2 and (1+c)/2 percentiles with linear interpolation, as scipy.stats.bootstrap(method="percentile").
 * Cases without a finite score are left out.
 */
import mt19937 from "@stdlib/random-base-mt19937";
import { binIndex } from "./binning.ts";
import type { BinaryCase, Estimate } from "./types.ts";
import { caseWeight, WeightSum } from "./weights.ts";

export interface CalibrationOptions {
  bins?: number;
  resamples?: number;
  seed?: number;
}

export const CALIBRATION_BINS = 10;
export const BOOTSTRAP_RESAMPLES = 2000;
export const BOOTSTRAP_SEED = 1;

function uniformEdges(bins: number): number[] {
  return Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);
}

/** ECE of the cases at indices idx (repeats allowed). */
function ece(
  bin: Int32Array,
  score: Float64Array,
  truth: Float64Array,
  weight: Float64Array,
  bins: number,
  idx: ArrayLike<number>,
): number {
  const w = new Float64Array(bins);
  const ws = new Float64Array(bins);
  const wt = new Float64Array(bins);
  let total = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    const b = bin[i]!;
    w[b]! += weight[i]!;
    ws[b]! += weight[i]! * score[i]!;
    wt[b]! += weight[i]! * truth[i]!;
    total += weight[i]!;
  }
  let out = 0;
  for (let b = 0; b < bins; b++) if (w[b]! > 0) out += Math.abs(wt[b]! - ws[b]!) / total;
  return out;
}

/** Linear-interpolation percentile (numpy's default) of sorted values, q in [0, 1]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function calibrationError(
  cases: readonly BinaryCase[],
  confidence: number,
  opts: CalibrationOptions = {},
): Estimate {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be within (0, 1), got ${confidence}`);
  const bins = opts.bins ?? CALIBRATION_BINS;
  const resamples = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const scoredCases = cases.filter((c) => c.score !== undefined && Number.isFinite(c.score));
  const n = scoredCases.length;
  const sums = new WeightSum();
  const edges = uniformEdges(bins);
  const bin = new Int32Array(n);
  const score = new Float64Array(n);
  const truth = new Float64Array(n);
  const weight = new Float64Array(n);
  scoredCases.forEach((c, i) => {
    score[i] = c.score!;
    truth[i] = c.truth ? 1 : 0;
    weight[i] = caseWeight(c.weight);
    bin[i] = binIndex(edges, c.score!);
    sums.add(weight[i]!);
  });
  if (n === 0) return { value: null, ciLow: null, ciHigh: null, n: 0, nEffective: 0 };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const value = ece(bin, score, truth, weight, bins, all);
  if (n < 2 || resamples < 1) return { value, ciLow: null, ciHigh: null, n, nEffective: sums.effective };
  // The typings declare factory() as a bare function; the returned generator does carry .normalized ([0, 1)).
  const prng = mt19937.factory({ seed: opts.seed ?? BOOTSTRAP_SEED }) as unknown as {
    normalized: () => number;
  };
  const rand = prng.normalized;
  const stats = new Float64Array(resamples);
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < n; k++) idx[k] = Math.floor(rand() * n);
    stats[r] = ece(bin, score, truth, weight, bins, idx);
  }
  stats.sort();
  const alpha = 1 - confidence;
  return {
    value,
    ciLow: percentileSorted(stats, alpha / 2),
    ciHigh: percentileSorted(stats, 1 - alpha / 2),
    n,
    nEffective: sums.effective,
  };
}
