/**
 * Means of per-case numeric quality measures with Student t intervals: mean absolute error of a numeric output
 * against its annotation, and mean Dice overlap of a segmentation against its reference (one Dice value per case,
 * computed by the annotation tool). Interval: mean ± t_{n−1} · s/√n with s the sample standard deviation
 * (statsmodels' DescrStatsW.tconfint_mean), clipped to the metric's range ([0, ∞) for MAE, [0, 1] for Dice).
 * With one case there is a value but no interval.
 */
import type { Estimate } from "./types.ts";
import { tCritical } from "./z-score.ts";

function meanWithT(values: readonly number[], confidence: number, lower: number, upper: number): Estimate {
  const critical = tCritical(confidence, Math.max(1, values.length - 1));
  const n = values.length;
  if (n === 0) return { value: null, ciLow: null, ciHigh: null, n: 0, nEffective: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean, ciLow: null, ciHigh: null, n, nEffective: n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = critical * Math.sqrt(variance / n);
  return {
    value: mean,
    ciLow: Math.max(lower, mean - half),
    ciHigh: Math.min(upper, mean + half),
    n,
    nEffective: n,
  };
}

export function meanAbsoluteError(
  pairs: readonly { predicted: number; actual: number }[],
  confidence: number,
): Estimate {
  const errors = pairs
    .filter((p) => Number.isFinite(p.predicted) && Number.isFinite(p.actual))
    .map((p) => Math.abs(p.predicted - p.actual));
  return meanWithT(errors, confidence, 0, Number.POSITIVE_INFINITY);
}

export function meanDice(values: readonly number[], confidence: number): Estimate {
  for (const v of values) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`a Dice coefficient is within [0, 1], got ${v}`);
  }
  return meanWithT(values, confidence, 0, 1);
}
