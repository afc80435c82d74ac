/**
 * Phase 5, last known good (the failover target): the serving version becomes it once it served healthily —
 * steady (Progressing False) and fully ready for minHealthy, never failed validation — and only when there is none
 * yet (first version) or a rollout away from it starts now. Moving it only then keeps the previous good version as
 * the failover target while a newer version serves, which is what failover needs.
 */
import { findCondition } from "../../runtime/index.ts";
import { fullyHealthy } from "../health.ts";
import { CONDITION } from "../types.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON } from "../reasons.ts";

function provenServing(s: DecisionState): string | undefined {
  const v = s.serving;
  const rolloutStarts = !s.failedOver && v !== s.desired;
  if (s.lastKnownGood !== undefined && !rolloutStarts) return undefined;
  const prevProgressing = findCondition(s.prevConditions, CONDITION.Progressing);
  if (v !== s.previous.activeVersion || s.previous.canary || prevProgressing?.status !== "False")
    return undefined;
  if (!fullyHealthy(s.health(v), s.total) || s.verdicts[v] === "Failed" || s.policyFailover.has(v))
    return undefined;
  const steadySince = Math.max(Date.parse(prevProgressing.lastTransitionTime), s.health(v)?.readySince ?? 0);
  const steadyFor = s.now - steadySince;
  if (steadyFor >= s.opts.minHealthyMs) return v;
  if (s.lastKnownGood === undefined) s.requeue.after(s.opts.minHealthyMs - steadyFor);
  return undefined;
}

export function lastKnownGood(s: DecisionState): void {
  if (s.suspended) return;
  const proven = provenServing(s);
  if (proven !== undefined && proven !== s.lastKnownGood) {
    s.lastKnownGood = proven;
    s.events.push({
      type: "Normal",
      reason: EVENT_REASON.LastKnownGood,
      action: "Record",
      note: `${proven} served healthily: it is the failover target now`,
    });
  }
}
