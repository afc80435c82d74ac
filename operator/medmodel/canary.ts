/**
 * Canary traffic by replica ratio: the stable Service selects the pods of both versions, so the share of
 * requests a version gets is its share of ready pods. Weights are therefore approximate for small replica
 * counts (1 replica and 10 % still means one canary pod beside one stable pod); status.canary.weight reports
 * the step's intended weight.
 */
import type { CanaryStep, DecisionSpec } from "./types.ts";

export function canarySplit(total: number, weight: number): { canary: number; stable: number } {
  if (total <= 0) return { canary: 0, stable: 0 };
  if (weight <= 0) return { canary: 0, stable: total };
  if (weight >= 100) return { canary: total, stable: 0 };
  const canary = Math.max(1, Math.ceil((total * weight) / 100));
  return { canary, stable: Math.max(1, total - canary) };
}

/** The canary steps of a spec (`rollout.steps`; the API server defaults them). */
export function canarySteps(spec: DecisionSpec): CanaryStep[] {
  return spec.rollout?.steps ?? [];
}
