/**
 * Drift tests by name, on a numeric feature's binned summaries or a categorical feature's counts.
 *
 * numeric:     ks and wasserstein on the fine reference bins; psi, js and chi2 on the reference deciles
 *              (coarse-bins.ts explains why).
 * categorical: psi, js and chi2 on the union of categories. ks and wasserstein need an order and a distance
 *              between values, which categories do not have: DriftTestNotApplicable.
 */
import { chiSquaredHomogeneity } from "./chi-squared.ts";
import { coarseGroups, groupCounts } from "./coarse-bins.ts";
import { jensenShannon } from "./jensen-shannon.ts";
import { ksTest } from "./ks.ts";
import type { CategoryCounts } from "./profile.ts";
import { psi } from "./psi.ts";
import type { NumericSummary } from "./summary.ts";
import type { DriftStat, DriftTestName } from "./types.ts";
import { wassersteinNormalised } from "./wasserstein.ts";

export class DriftTestNotApplicable extends Error {
  readonly code = "DRIFT_TEST_NOT_APPLICABLE";
  constructor(test: DriftTestName, kind: "numeric" | "categorical") {
    super(`the ${test} drift test does not apply to a ${kind} feature`);
    this.name = "DriftTestNotApplicable";
  }
}

export function driftTestApplies(test: DriftTestName, kind: "numeric" | "categorical"): boolean {
  return kind === "numeric" || (test !== "ks" && test !== "wasserstein");
}

function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

export function numericDrift(
  test: DriftTestName,
  reference: NumericSummary,
  current: NumericSummary,
): DriftStat {
  if (!sameEdges(reference.edges, current.edges)) {
    throw new RangeError("the current summary must be binned on the reference's edges");
  }
  switch (test) {
    case "ks":
      return ksTest(reference.counts, current.counts);
    case "wasserstein":
      return { statistic: wassersteinNormalised(reference, current), pValue: null };
    default: {
      const groups = coarseGroups(reference.counts);
      const r = groupCounts(reference.counts, groups);
      const c = groupCounts(current.counts, groups);
      return proportionTest(test, r, c);
    }
  }
}

function proportionTest(test: "psi" | "js" | "chi2", r: number[], c: number[]): DriftStat {
  if (test === "psi") return { statistic: psi(r, c), pValue: null };
  if (test === "js") return { statistic: jensenShannon(r, c), pValue: null };
  return chiSquaredHomogeneity(r, c);
}

export function categoricalDrift(
  test: DriftTestName,
  reference: CategoryCounts,
  current: CategoryCounts,
): DriftStat {
  if (test === "ks" || test === "wasserstein") throw new DriftTestNotApplicable(test, "categorical");
  const keys = [...new Set([...Object.keys(reference), ...Object.keys(current)])].sort();
  const count = (m: CategoryCounts, k: string) => (Object.hasOwn(m, k) ? m[k]! : 0);
  return proportionTest(
    test,
    keys.map((k) => count(reference, k)),
    keys.map((k) => count(current, k)),
  );
}
