/**
 * The monitor's statistics: pure functions, no I/O. Drift on fixed reference bins, validation estimators with
 * confidence intervals, and the reference profile document. Formulas, libraries and measured error bounds:
 * docs/statistics.md.
 */
export { binIndex, DEFAULT_BINS, referenceEdges } from "./binning.ts";
export {
  addValue,
  emptySummary,
  mergeSummaries,
  type NumericSummary,
  summarize,
  summaryStd,
} from "./summary.ts";
export {
  buildProfile,
  type CategoryCounts,
  CategoryCountsSchema,
  countCategories,
  FEATURE_SOURCES,
  type FeatureProfile,
  FeatureProfileSchema,
  type FeatureSource,
  NumericSummarySchema,
  PROFILE_FORMAT,
  type ProfileRecord,
  profileKey,
  type ReferenceProfile,
  ReferenceProfileSchema,
} from "./profile.ts";
export {
  BINARY_METRICS,
  type BinaryCase,
  type BinaryMetricName,
  DRIFT_TESTS,
  type DriftStat,
  type DriftTestName,
  type Estimate,
} from "./types.ts";
export { categoricalDrift, DriftTestNotApplicable, driftTestApplies, numericDrift } from "./drift.ts";
export { binaryMetrics, wilson } from "./binary-metrics.ts";
export { kishEffectiveN } from "./weights.ts";
export { auroc } from "./auroc.ts";
export {
  BOOTSTRAP_RESAMPLES,
  BOOTSTRAP_SEED,
  CALIBRATION_BINS,
  type CalibrationOptions,
  calibrationError,
} from "./calibration.ts";
export { meanAbsoluteError, meanDice } from "./continuous.ts";
