/**
 * Area under the ROC curve with DeLong's interval (DeLong, DeLong & Clarke-Pearson 1988), computed from the
 * structural components in O(n log n) by sorting (ties count one half).
 *
 * V10_i = P̂(score of a negative < score of positive i) and V01_j = P̂(score of negative j < score of a positive);
 * AUC = mean V10 = mean V01; Var = S10/m + S01/n with S the sample variances (ddof 1) of the components.
 * The interval is AUC ± z·√Var, clipped to [0, 1].
 *
 * With Horvitz–Thompson weights the components and the AUC are weighted means (the AUC equals scikit-learn's
 * roc_auc_score with sample_weight), and m, n become Kish's effective numbers of positives and negatives — an
 * approximation documented in docs/statistics.md; unweighted it is DeLong's exact formula.
 * Cases without a finite score are left out.
 */
import type { BinaryCase, Estimate } from "./types.ts";
import { caseWeight, WeightSum } from "./weights.ts";
import { normalCritical } from "./z-score.ts";

interface Scored {
  score: number;
  truth: boolean;
  w: number;
}

function weightedVariance(values: number[], weights: number[], mean: number, effective: number): number {
  if (effective <= 1) return 0;
  let sw = 0;
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    sw += weights[i]!;
    acc += weights[i]! * (values[i]! - mean) ** 2;
  }
  return (acc / sw) * (effective / (effective - 1));
}

export function auroc(cases: readonly BinaryCase[], confidence: number): Estimate {
  const z = normalCritical(confidence);
  const scored: Scored[] = [];
  const all = new WeightSum();
  const pos = new WeightSum();
  const neg = new WeightSum();
  for (const c of cases) {
    if (c.score === undefined || !Number.isFinite(c.score)) continue;
    const w = caseWeight(c.weight);
    scored.push({ score: c.score, truth: c.truth, w });
    all.add(w);
    (c.truth ? pos : neg).add(w);
  }
  const n = scored.length;
  if (pos.count === 0 || neg.count === 0) {
    return { value: null, ciLow: null, ciHigh: null, n, nEffective: all.effective };
  }
  scored.sort((a, b) => a.score - b.score);
  const v10: number[] = [];
  const w10: number[] = [];
  const v01: number[] = [];
  const w01: number[] = [];
  let negBelow = 0;
  let posBelow = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let negEqual = 0;
    let posEqual = 0;
    while (end < n && scored[end]!.score === scored[start]!.score) {
      if (scored[end]!.truth) posEqual += scored[end]!.w;
      else negEqual += scored[end]!.w;
      end++;
    }
    const posAbove = pos.sum - posBelow - posEqual;
    for (let i = start; i < end; i++) {
      const c = scored[i]!;
      if (c.truth) {
        v10.push((negBelow + 0.5 * negEqual) / neg.sum);
        w10.push(c.w);
      } else {
        v01.push((posAbove + 0.5 * posEqual) / pos.sum);
        w01.push(c.w);
      }
    }
    negBelow += negEqual;
    posBelow += posEqual;
    start = end;
  }
  let value = 0;
  for (let i = 0; i < v10.length; i++) value += w10[i]! * v10[i]!;
  value /= pos.sum;
  const m = pos.effective;
  const k = neg.effective;
  const variance = weightedVariance(v10, w10, value, m) / m + weightedVariance(v01, w01, value, k) / k;
  const half = z * Math.sqrt(variance);
  return {
    value,
    ciLow: Math.max(0, value - half),
    ciHigh: Math.min(1, value + half),
    n,
    nEffective: all.effective,
  };
}
