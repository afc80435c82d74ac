/**
 * Phase 1, carry-over: what the previous status says is still true — the serving version, the canary, the
 * failover record and hold, the last known good version — as long as those versions are still in the spec.
 */
import { findCondition } from "../../runtime/index.ts";
import { CONDITION } from "../types.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON } from "../reasons.ts";

export function carryOver(s: DecisionState): void {
  const { previous, names, model, prevConditions, desired } = s;
  const serving =
    previous.activeVersion !== undefined && names.includes(previous.activeVersion)
      ? previous.activeVersion
      : undefined;
  s.canary = previous.canary && names.includes(previous.canary.version) ? { ...previous.canary } : undefined;
  s.failoverCount = previous.failover?.count ?? 0;
  s.lastTransition = previous.failover?.lastTransition;
  const prevFailedOver = findCondition(prevConditions, CONDITION.FailedOver);
  s.failedOver = prevFailedOver?.status === "True" && s.lastTransition !== undefined;
  s.failedOverGeneration = prevFailedOver?.observedGeneration ?? model.generation;
  s.lastKnownGood =
    previous.lastKnownGoodVersion !== undefined && names.includes(previous.lastKnownGoodVersion)
      ? previous.lastKnownGoodVersion
      : undefined;

  if (serving === undefined) {
    // First reconcile, or the serving version was removed from spec.versions: nothing else to serve.
    if (previous.activeVersion !== undefined) {
      s.events.push({
        type: "Normal",
        reason: EVENT_REASON.Switched,
        action: "Serve",
        note: `version ${previous.activeVersion} was removed from spec.versions; serving ${desired}`,
      });
    }
    s.serving = desired;
    s.canary = undefined;
    s.failedOver = false;
  } else {
    s.serving = serving;
  }
  if (s.failedOver && s.lastTransition && !names.includes(s.lastTransition.from)) s.failedOver = false;
}
