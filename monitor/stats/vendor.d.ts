// @stdlib/stats-kstest ships the Marsaglia–Tsang–Wang evaluation of the two-sided Kolmogorov distribution as a
// private module without types; kolmogorov.ts uses it directly rather than rewriting it.
declare module "@stdlib/stats-kstest/lib/marsaglia.js" {
  /** P(D_n < d) for the two-sided one-sample Kolmogorov statistic D_n. */
  export default function pKolmogorov(d: number, n: number): number;
}
