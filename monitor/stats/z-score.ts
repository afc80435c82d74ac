/** Two-sided critical values from @stdlib's normal and Student t quantile functions. */
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be within (0, 1), got ${confidence}`);
}

/** z with P(|Z| ≤ z) = confidence. */
export function normalCritical(confidence: number): number {
  checkConfidence(confidence);
  return normalQuantile(1 - (1 - confidence) / 2, 0, 1);
}

/** t with P(|T_dof| ≤ t) = confidence. */
export function tCritical(confidence: number, dof: number): number {
  checkConfidence(confidence);
  return tQuantile(1 - (1 - confidence) / 2, dof);
}
