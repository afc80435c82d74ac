/**
 * Survival function of the two-sided Kolmogorov statistic D_n, P(D_n ≥ d) — scipy.stats.kstwo.sf(d, n), which
 * SciPy's ks_2samp(method="asymp") evaluates at n = round(n₁n₂/(n₁+n₂)).
 *
 * Small n·d: the exact Marsaglia–Tsang–Wang (2003) matrix method shipped by @stdlib/stats-kstest (its cost grows
 * with (n·d)³, so it is used while the matrix has at most 2·EXACT_MAX_K − 1 rows). Larger n·d: the limiting
 * Kolmogorov distribution Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²) with Stephens' (1970) finite-n correction
 * λ = d (√n + 0.12 + 0.11/√n) — no maintained npm package ships it; agreement with SciPy is tested.
 */
import pKolmogorov from "@stdlib/stats-kstest/lib/marsaglia.js";

export const EXACT_MAX_K = 30;

function limitingSf(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

export function kolmogorovSf(d: number, n: number): number {
  if (!(n >= 1) || d <= 0) return 1;
  if (d >= 1) return 0;
  const k = Math.floor(n * d) + 1;
  const s = d * d * n;
  if (s > 7.24 || (s > 3.76 && n > 99)) {
    // Far tail: stdlib's pKolmogorov switches here to Marsaglia–Tsang–Wang's closed form 1 − 2·exp(−c·s); its
    // complement is evaluated directly so small p-values keep their precision instead of rounding 1 − P to 0.
    return Math.min(1, 2 * Math.exp(-(2.000071 + 0.331 / Math.sqrt(n) + 1.409 / n) * s));
  }
  if (k <= EXACT_MAX_K) return Math.min(1, Math.max(0, 1 - pKolmogorov(d, n)));
  const root = Math.sqrt(n);
  return limitingSf(d * (root + 0.12 + 0.11 / root));
}
