/**
 * Groups the fine reference bins into at most `groups` consecutive groups of about equal reference mass
 * (deciles by default). PSI, Jensen–Shannon and the numeric chi-squared test compare proportions bin by bin, and
 * their values grow with the number of bins under pure sampling noise (E[PSI] ≈ (B−1)(1/n_ref + 1/n_cur)), so
 * their conventional thresholds (PSI 0.1/0.2, JS 0.1) assume about ten bins; KS and Wasserstein use the fine
 * bins. The grouping depends on the reference alone, so every window is grouped the same way.
 */
export const COARSE_GROUPS = 10;

/** For each fine bin, the index of its group. */
export function coarseGroups(referenceCounts: readonly number[], groups: number = COARSE_GROUPS): number[] {
  const total = referenceCounts.reduce((a, b) => a + b, 0);
  const out = new Array<number>(referenceCounts.length).fill(0);
  if (total === 0) return out;
  let group = 0;
  let cumulative = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    out[i] = group;
    cumulative += referenceCounts[i]!;
    // Close the group once the reference mass so far reaches the next 1/groups step (a tied bin may cross several).
    if (cumulative * groups >= (group + 1) * total && group < groups - 1) {
      group = Math.min(groups - 1, Math.floor((cumulative * groups) / total));
    }
  }
  // A tied bin that crosses several steps skips group numbers: renumber 0, 1, 2… in order.
  let next = -1;
  let last = -1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== last) {
      last = out[i]!;
      next++;
    }
    out[i] = next;
  }
  return out;
}

/** Sums fine-bin counts into their groups. */
export function groupCounts(counts: readonly number[], groupOf: readonly number[]): number[] {
  const size = groupOf.length === 0 ? 0 : groupOf[groupOf.length - 1]! + 1;
  const out = new Array<number>(size).fill(0);
  for (let i = 0; i < counts.length; i++) out[groupOf[i]!]! += counts[i]!;
  return out;
}
