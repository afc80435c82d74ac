/** Shapes shared by the drift tests and the validation estimators. */

export const DRIFT_TESTS = ["psi", "ks", "js", "wasserstein", "chi2"] as const;
export type DriftTestName = (typeof DRIFT_TESTS)[number];

/** A drift test's result. pValue is null for tests that have none (psi, js, wasserstein). */
export interface DriftStat {
  statistic: number;
  pValue: number | null;
}

/**
 * A metric with its confidence interval. value/ciLow/ciHigh are null when the metric is undefined on the data
 * (e.g. sensitivity without a positive case). n counts the cases the metric is computed over; nEffective is
 * Kish's effective sample size (Σw)²/Σw² of those cases, equal to n when all weights are 1. Whether n is enough
 * for a verdict (minSamples → InsufficientData) is the caller's decision.
 */
export interface Estimate {
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  nEffective: number;
}

/** One annotated case at the model's decision. weight = 1/π, the inverse inclusion probability (Horvitz–Thompson); default 1. */
export interface BinaryCase {
  predicted: boolean;
  truth: boolean;
  score?: number;
  weight?: number;
}

export const BINARY_METRICS = ["sensitivity", "specificity", "ppv", "npv", "accuracy"] as const;
export type BinaryMetricName = (typeof BINARY_METRICS)[number];
