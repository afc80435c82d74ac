/**
 * The two conditions kstatus (sigs.k8s.io/cli-utils/pkg/kstatus — what `kubectl wait`-style tooling, Argo CD's
 * health checks and Flux's kustomize-controller read) understands for any custom resource, beside our own
 * Ready/Progressing/Degraded:
 *
 * - `Reconciling` True: the controller is still converging (a rollout or canary in progress, children not yet
 *   ready). kstatus reads InProgress.
 * - `Stalled` True: it cannot proceed without a change from someone (an invalid spec, a model digest mismatch of
 *   the only version, a cluster missing an API it needs). kstatus reads Failed.
 * - both False: settled. With observedGeneration equal to metadata.generation, kstatus reads Current.
 *
 * kstatus checks Reconciling before Stalled, so the helper never sets both True: a stalled object is not
 * reconciling. observedGeneration lagging behind generation reads InProgress whatever the conditions say
 * (status.ts keeps it behind while a reconcile fails).
 */
import { setCondition } from "./conditions.ts";
import type { Condition } from "./types.ts";

export const KSTATUS = { Reconciling: "Reconciling", Stalled: "Stalled" } as const;

export type KstatusState =
  | { state: "Current"; reason?: string; message?: string }
  | { state: "Reconciling"; reason: string; message: string }
  | { state: "Stalled"; reason: string; message: string };

/**
 * Returns `conditions` with Reconciling and Stalled set for `s` (other conditions untouched; lastTransitionTime
 * kept unless a status flips, as setCondition does).
 */
export function setKstatusConditions(
  conditions: readonly Condition[] | undefined,
  s: KstatusState,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  // A False condition says why in one word: the object is in the other state, or settled.
  const other = {
    status: "False" as const,
    reason: s.state === "Current" ? (s.reason ?? "Reconciled") : s.state,
    message: s.state === "Current" ? (s.message ?? "") : "",
  };
  const own = (state: KstatusState["state"]) =>
    s.state === state
      ? { status: "True" as const, reason: s.reason ?? state, message: s.message ?? "" }
      : other;
  const reconciling = own("Reconciling");
  const stalled = own("Stalled");
  return setCondition(
    setCondition(conditions, { type: KSTATUS.Reconciling, ...reconciling, ...gen }, now),
    { type: KSTATUS.Stalled, ...stalled, ...gen },
    now,
  );
}
