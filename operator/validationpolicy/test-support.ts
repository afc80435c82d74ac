/** Builders for the ValidationPolicy decision tests (test code only; product code never imports this). */
import { ValidationPolicySpecSchema, type ValidationPolicySpec } from "../../crds/validationpolicy.ts";
import type { DecideInput, EvaluateResult, EvaluatedMetric, ModelView, PolicyStatus } from "./types.ts";

export const T0 = new Date("2026-12-04T12:00:00Z");
export const later = (ms: number, from = T0) => new Date(from.getTime() + ms);

export function policySpec(overrides: Record<string, unknown> = {}): ValidationPolicySpec {
  return ValidationPolicySpecSchema.parse({
    modelRef: { name: "cxr" },
    metrics: [
      { name: "sensitivity", min: 0.85, minSamples: 50 },
      { name: "specificity", min: 0.7, minSamples: 50 },
    ],
    drift: { checks: [{ source: "input", feature: "image:mean", test: "psi", threshold: 0.2 }] },
    schedule: { interval: "1h" },
    ...overrides,
  });
}

export const model = (over: Partial<ModelView> = {}): ModelView => ({
  name: "cxr",
  versions: ["v1", "v2"],
  serving: ["v2"],
  annotations: {},
  ...over,
});

export const row = (
  metric: string,
  ciLow: number,
  pass: boolean,
  n = 120,
  subgroup?: string,
): EvaluatedMetric => ({
  metric,
  ...(subgroup ? { subgroup } : {}),
  value: ciLow + 0.05,
  ciLow,
  ciHigh: Math.min(1, ciLow + 0.1),
  n,
  pass,
});

/** Both versions pass both metrics, no drift. */
export function healthy(): EvaluateResult {
  return {
    results: ["v1", "v2"].map((version) => ({
      version,
      metrics: [row("sensitivity", 0.9, true), row("specificity", 0.8, true)],
    })),
    drift: ["v1", "v2"].map((version) => ({
      version,
      feature: "image:mean",
      test: "psi",
      statistic: 0.03,
      drifted: false,
    })),
    insufficientData: false,
  };
}

/** v2's sensitivity lower bound falls below its floor. */
export function breached(): EvaluateResult {
  const r = healthy();
  r.results[1] = { version: "v2", metrics: [row("sensitivity", 0.78, false), row("specificity", 0.8, true)] };
  return r;
}

/** v2's input distribution shifted. */
export function drifted(): EvaluateResult {
  const r = healthy();
  r.drift[1] = { version: "v2", feature: "image:mean", test: "psi", statistic: 0.41, drifted: true };
  return r;
}

export function input(over: Partial<DecideInput> & { spec?: ValidationPolicySpec } = {}): DecideInput {
  const { spec, ...rest } = over;
  return {
    policy: { namespace: "radiology", name: "cxr-policy", generation: 1, spec: spec ?? policySpec() },
    previous: {} as PolicyStatus,
    model: model(),
    monitor: { kind: "evaluated", result: healthy() },
    now: T0,
    ...rest,
  };
}
