/**
 * Horvitz–Thompson weights for cases sampled for annotation with unequal probabilities: each annotated case
 * stands for 1/π cases of its stratum, so weighted proportions estimate the whole population's. Kish's effective
 * sample size (Σw)²/Σw² is the n a simple random sample would need for the same precision; intervals use it.
 */

/** A case's weight, 1 when absent. Non-finite or non-positive weights are a caller error. */
export function caseWeight(weight: number | undefined): number {
  if (weight === undefined) return 1;
  if (!Number.isFinite(weight) || weight <= 0)
    throw new RangeError(`a case weight must be a positive number, got ${weight}`);
  return weight;
}

/** Running Σw and Σw² of a set of cases. */
export class WeightSum {
  count = 0;
  sum = 0;
  sumSq = 0;
  add(w: number): void {
    this.count++;
    this.sum += w;
    this.sumSq += w * w;
  }
  /** Kish's effective n, (Σw)²/Σw² (0 for no cases). */
  get effective(): number {
    return this.sumSq === 0 ? 0 : (this.sum * this.sum) / this.sumSq;
  }
}

export function kishEffectiveN(weights: readonly number[]): number {
  const s = new WeightSum();
  for (const w of weights) s.add(w);
  return s.effective;
}
