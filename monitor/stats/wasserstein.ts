/**
 * Wasserstein-1 distance between two binned samples, ∫ |F_cur(x) − F_ref(x)| dx, divided by the reference's
 * standard deviation (population, floored at 0.001) as Evidently's "wasserstein" drift test does — so the
 * statistic reads in reference standard deviations and 0.1 is Evidently's default threshold.
 *
 * Within a bin each sample's mass is modelled as uniform on the sub-interval that has the bin's actual mean
 * (count and per-bin sum are stored), anchored at the nearer bin boundary. ∫ F over a bin depends only on the bin's
 * count and sum, so wherever F_cur − F_ref keeps its sign across a bin the bin's contribution is exact; the
 * approximation only enters in the few bins where the CDFs cross. The open outer bins are bounded by the smaller
 * of the two minima and the larger of the two maxima.
 */
import type { NumericSummary } from "./summary.ts";
import { summaryStd } from "./summary.ts";

export const WASSERSTEIN_MIN_NORM = 0.001;

interface BinMass {
  /** CDF at the bin's lower bound. */
  base: number;
  /** Probability mass in the bin. */
  mass: number;
  /** Support [a, b] of the uniform model (a = b: a point mass). */
  a: number;
  b: number;
}

function binMass(s: NumericSummary, i: number, lo: number, hi: number, base: number): BinMass {
  const count = s.counts[i]!;
  if (count === 0 || s.n === 0) return { base, mass: 0, a: lo, b: lo };
  const mean = Math.min(hi, Math.max(lo, s.sums[i]! / count));
  const mass = count / s.n;
  return mean - lo <= hi - mean
    ? { base, mass, a: lo, b: 2 * mean - lo }
    : { base, mass, a: 2 * mean - hi, b: hi };
}

/** The model CDF at x, approached from the right (side = 1) or from the left (side = -1). */
function cdfAt(m: BinMass, x: number, side: 1 | -1): number {
  if (m.mass === 0) return m.base;
  if (m.b <= m.a) return m.base + (x > m.a || (x === m.a && side === 1) ? m.mass : 0);
  const t = Math.min(1, Math.max(0, (x - m.a) / (m.b - m.a)));
  return m.base + m.mass * t;
}

/** ∫ over [x0, x1] of |d(x)| where d is linear from d0 to d1. */
function absLinearIntegral(d0: number, d1: number, width: number): number {
  if (width <= 0) return 0;
  if ((d0 >= 0 && d1 >= 0) || (d0 <= 0 && d1 <= 0)) return ((Math.abs(d0) + Math.abs(d1)) / 2) * width;
  return ((d0 * d0 + d1 * d1) / (2 * (Math.abs(d0) + Math.abs(d1)))) * width;
}

/** The unnormalised Wasserstein-1 distance between the binned samples (same edges). */
export function binnedWasserstein(reference: NumericSummary, current: NumericSummary): number {
  if (reference.n === 0 || current.n === 0) return 0;
  const edges = reference.edges;
  const lower = Math.min(reference.min, current.min);
  const upper = Math.max(reference.max, current.max);
  let baseR = 0;
  let baseC = 0;
  let total = 0;
  for (let i = 0; i <= edges.length; i++) {
    let lo = i === 0 ? lower : edges[i - 1]!;
    let hi = i === edges.length ? upper : edges[i]!;
    if (i === 0) lo = Math.min(lo, hi);
    if (i === edges.length) hi = Math.max(lo, hi);
    const r = binMass(reference, i, lo, hi, baseR);
    const c = binMass(current, i, lo, hi, baseC);
    const points = [lo, r.a, r.b, c.a, c.b, hi].filter((x) => x >= lo && x <= hi).sort((x, y) => x - y);
    for (let j = 1; j < points.length; j++) {
      const x0 = points[j - 1]!;
      const x1 = points[j]!;
      if (x1 <= x0) continue;
      const d0 = cdfAt(c, x0, 1) - cdfAt(r, x0, 1);
      const d1 = cdfAt(c, x1, -1) - cdfAt(r, x1, -1);
      total += absLinearIntegral(d0, d1, x1 - x0);
    }
    baseR += r.mass;
    baseC += c.mass;
  }
  return total;
}

export function wassersteinNormalised(reference: NumericSummary, current: NumericSummary): number {
  return binnedWasserstein(reference, current) / Math.max(summaryStd(reference), WASSERSTEIN_MIN_NORM);
}
