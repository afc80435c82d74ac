/**
 * Confusion-matrix metrics at the model's decision, with Wilson score intervals.
 *
 * Each metric is a proportion hits/denominator over a subset of cases (sensitivity: positives; specificity:
 * negatives; ppv: predicted positive; npv: predicted negative; accuracy: all). With Horvitz–Thompson weights the
 * proportion is Σ_hits w / Σ_denominator w and the interval is Wilson's at Kish's effective n of the denominator
 * cases (statsmodels' proportion_confint(p·n_eff, n_eff, method="wilson")). Unweighted, that is the textbook
 * Wilson interval on the counts.
 */
import type { BinaryCase, BinaryMetricName, Estimate } from "./types.ts";
import { caseWeight, WeightSum } from "./weights.ts";
import { normalCritical } from "./z-score.ts";

/** Wilson score interval for successes/n (both may be fractional: weighted counts at an effective n). */
export function wilson(successes: number, n: number, confidence: number): [number, number] {
  const z = normalCritical(confidence);
  if (!(n > 0)) return [0, 1];
  const p = Math.min(1, Math.max(0, successes / n));
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const IN_DENOMINATOR: Record<BinaryMetricName, (c: BinaryCase) => boolean> = {
  sensitivity: (c) => c.truth,
  specificity: (c) => !c.truth,
  ppv: (c) => c.predicted,
  npv: (c) => !c.predicted,
  accuracy: () => true,
};

/** A hit is a correct decision; within each metric's denominator that is exactly its numerator. */
const isHit = (c: BinaryCase) => c.predicted === c.truth;

export function proportionEstimate(all: WeightSum, hits: number, confidence: number): Estimate {
  if (all.count === 0) return { value: null, ciLow: null, ciHigh: null, n: 0, nEffective: 0 };
  const value = hits / all.sum;
  const nEffective = all.effective;
  const [ciLow, ciHigh] = wilson(value * nEffective, nEffective, confidence);
  return { value, ciLow, ciHigh, n: all.count, nEffective };
}

export function binaryMetrics(
  cases: readonly BinaryCase[],
  confidence: number,
): Record<BinaryMetricName, Estimate> {
  const names = Object.keys(IN_DENOMINATOR) as BinaryMetricName[];
  const sums = new Map(names.map((m) => [m, { all: new WeightSum(), hits: 0 }]));
  for (const c of cases) {
    const w = caseWeight(c.weight);
    for (const m of names) {
      if (!IN_DENOMINATOR[m](c)) continue;
      const s = sums.get(m)!;
      s.all.add(w);
      if (isHit(c)) s.hits += w;
    }
  }
  const out = {} as Record<BinaryMetricName, Estimate>;
  for (const m of names) {
    const s = sums.get(m)!;
    out[m] = proportionEstimate(s.all, s.hits, confidence);
  }
  return out;
}
