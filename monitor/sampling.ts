/**
 * Sampling for annotation, decided at ingest (pure). Each record gets an inclusion probability π from the
 * model's ValidationPolicy and is drawn when a uniform number derived from its case id falls below π — so a
 * retried batch draws the same cases, and tests can predict the draw.
 *
 * - Random: π = rate.
 * - StratifiedByPrediction: equal expected samples per decision class (positive, negative, no decision) at the
 *   same overall rate: π_c = min(1, rate · N / (K · N_c)) over the window's traffic (N records, K classes seen,
 *   N_c of class c; +1 smoothing so the first record of a class is not π = ∞). Rare decisions are oversampled;
 *   metrics are reweighted by 1/π (Horvitz–Thompson), so they stay unbiased.
 * - minPerWindow: while fewer cases than this were sampled in the current window, π = 1.
 */
import { createHash } from "node:crypto";

export type DecisionClass = "positive" | "negative" | "none";
export const DECISION_CLASSES: readonly DecisionClass[] = ["positive", "negative", "none"];

export interface SamplingSpec {
  rate: number;
  strategy: "Random" | "StratifiedByPrediction";
  minPerWindow: number;
}

/** Traffic of the model in the current sampling window (running: the caller adds each decided record). */
export interface TrafficStats {
  total: number;
  byClass: Record<DecisionClass, number>;
  sampled: number;
}

export function emptyTraffic(): TrafficStats {
  return { total: 0, byClass: { positive: 0, negative: 0, none: 0 }, sampled: 0 };
}

export function decisionClass(decision: { positive: boolean } | undefined | null): DecisionClass {
  if (!decision) return "none";
  return decision.positive ? "positive" : "negative";
}

export function inclusionProbability(spec: SamplingSpec, cls: DecisionClass, stats: TrafficStats): number {
  if (stats.sampled < spec.minPerWindow) return 1;
  if (spec.strategy === "Random" || spec.rate >= 1) return spec.rate;
  const classes = DECISION_CLASSES.filter((c) => stats.byClass[c] > 0 || c === cls).length;
  const pi = (spec.rate * (stats.total + 1)) / (classes * (stats.byClass[cls] + 1));
  return Math.min(1, pi);
}

/** A uniform number in [0, 1) from the case id (sha256; case ids are already keyed HMACs). */
export function caseUniform(namespace: string, model: string, caseId: string): number {
  const h = createHash("sha256").update(`${namespace}/${model}/${caseId}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** Updates the running stats with one record's outcome. */
export function countDecision(stats: TrafficStats, cls: DecisionClass, sampled: boolean): void {
  stats.total += 1;
  stats.byClass[cls] += 1;
  if (sampled) stats.sampled += 1;
}
