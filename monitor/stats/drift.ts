/** Dispatches a named drift test to its implementation. */
import type { CategoryCounts } from "./profile.ts";
import type { NumericSummary } from "./summary.ts";
import type { DriftStat, DriftTestName } from "./types.ts";

export function numericDrift(
  _test: DriftTestName,
  _reference: NumericSummary,
  _current: NumericSummary,
): DriftStat {
  throw new Error("not implemented");
}

export function categoricalDrift(
  _test: DriftTestName,
  _reference: CategoryCounts,
  _current: CategoryCounts,
): DriftStat {
  throw new Error("not implemented");
}
