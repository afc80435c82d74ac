/**
 * Chi-squared test of homogeneity on a 2 × K table (reference counts, current counts), as
 * scipy.stats.chi2_contingency(table, correction=False): categories empty in both windows are dropped, dof = K − 1.
 * A test of homogeneity rather than goodness of fit against the reference proportions, because the reference is a
 * sample too and a category never seen in the reference must not make the statistic infinite.
 * The p-value is the chi-squared upper tail, from @stdlib's regularized upper incomplete gamma function.
 */
import gammainc from "@stdlib/math-base-special-gammainc";
import type { DriftStat } from "./types.ts";

export function chiSquaredSf(x: number, dof: number): number {
  if (dof <= 0) return 1;
  if (x <= 0) return 1;
  return gammainc(x / 2, dof / 2, true, true);
}

export function chiSquaredHomogeneity(reference: readonly number[], current: readonly number[]): DriftStat {
  const nr = reference.reduce((a, b) => a + b, 0);
  const nc = current.reduce((a, b) => a + b, 0);
  const n = nr + nc;
  if (nr === 0 || nc === 0) return { statistic: 0, pValue: 1 };
  let statistic = 0;
  let k = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i] ?? 0;
    const column = r + c;
    if (column === 0) continue;
    k++;
    const er = (column * nr) / n;
    const ec = (column * nc) / n;
    statistic += ((r - er) * (r - er)) / er + ((c - ec) * (c - ec)) / ec;
  }
  return { statistic, pValue: chiSquaredSf(statistic, k - 1) };
}
