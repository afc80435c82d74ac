/**
 * Two-sample Kolmogorov–Smirnov statistic from binned counts: the largest difference of the two empirical CDFs
 * at the bin edges. With right-closed bins the cumulative counts are the exact ECDFs at the edges, so the binned
 * statistic never exceeds the exact one and falls short of it by at most the largest reference mass inside one
 * bin (1/DEFAULT_BINS on untied data; measured in docs/statistics.md). The p-value is the asymptotic one SciPy's
 * ks_2samp(method="asymp") reports: kstwo.sf(D, round(n₁n₂/(n₁+n₂))).
 */
import { kolmogorovSf } from "./kolmogorov.ts";
import type { DriftStat } from "./types.ts";

export function ksStatistic(reference: readonly number[], current: readonly number[]): number {
  const nr = reference.reduce((a, b) => a + b, 0);
  const nc = current.reduce((a, b) => a + b, 0);
  if (nr === 0 || nc === 0) return 0;
  let cr = 0;
  let cc = 0;
  let d = 0;
  for (let i = 0; i < reference.length; i++) {
    cr += reference[i]!;
    cc += current[i] ?? 0;
    const diff = Math.abs(cr / nr - cc / nc);
    if (diff > d) d = diff;
  }
  return d;
}

export function ksTest(reference: readonly number[], current: readonly number[]): DriftStat {
  const nr = reference.reduce((a, b) => a + b, 0);
  const nc = current.reduce((a, b) => a + b, 0);
  if (nr === 0 || nc === 0) return { statistic: 0, pValue: 1 };
  const d = ksStatistic(reference, current);
  const en = Math.round((nr * nc) / (nr + nc));
  return { statistic: d, pValue: kolmogorovSf(d, en) };
}
