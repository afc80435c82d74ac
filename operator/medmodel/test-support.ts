/** Builders for the decision tests: a model spec, health records and a previous status, with terse defaults. */
import type { Condition } from "../runtime/index.ts";
import type { DecisionInput, DecisionSpec, DecisionStatus, VersionHealth } from "./types.ts";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const SHA = "a".repeat(64);

export function spec(over: Partial<DecisionSpec> = {}, names = ["v1", "v2"]): DecisionSpec {
  return {
    versions: names.map((name) => ({ name, source: { uri: `pvc://models/${name}.onnx`, sha256: SHA } })),
    activeVersion: names[names.length - 1],
    serving: { replicas: 2 },
    ...over,
  };
}

/** A version with `ready` ready replicas (and as many pods). */
export function ready(n: number, over: Partial<VersionHealth> = {}): VersionHealth {
  return { exists: true, readyReplicas: n, pods: n, crashLooping: false, ...over };
}

export function cond(type: string, status: boolean, atMs = T0, extra: Partial<Condition> = {}): Condition {
  return {
    type,
    status: status ? "True" : "False",
    reason: "X",
    message: "",
    lastTransitionTime: iso(atMs),
    ...extra,
  };
}

export function input(over: Partial<DecisionInput> & { spec: DecisionSpec }): DecisionInput {
  return {
    model: { name: "chest", namespace: "rad", generation: 1 },
    previous: {},
    health: {},
    verdicts: {},
    now: T0,
    options: { minHealthyMs: 30_000, standbyReplicas: 1, defaultUnavailableAfterMs: 10_000 },
    ...over,
  };
}

/** A previous status where `serving` serves steadily since `sinceMs`. */
export function steady(
  serving: string,
  sinceMs = T0 - 60_000,
  over: Partial<DecisionStatus> = {},
): DecisionStatus {
  return {
    activeVersion: serving,
    conditions: [cond("Progressing", false, sinceMs), cond("FailedOver", false, sinceMs)],
    ...over,
  };
}
