/**
 * Phase 3, failover: when the serving version is unavailable (a hard failure, no ready replica for
 * unavailableAfter, or — with onValidationBreach — a Failed verdict), serve the fallbackVersion or the last known
 * good one instead; with no target, say so (Degraded NoHealthyFallback or ServingUnavailable).
 */
import { availability, hardFailure } from "../health.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON, FAILURE_REASON, REASON } from "../reasons.ts";

/** Availability of a version that serves traffic (a breached validation counts when the spec says so). */
function servingProblem(s: DecisionState, v: string) {
  const a = availability(s.health(v), s.unavailableAfterMs, s.now);
  if (!a.problem && s.mustNotServe(v)) {
    const message = s.policyFailover.has(v)
      ? "a ValidationPolicy took the Failover action for this version"
      : "the ValidationPolicy verdict is Failed";
    return { problem: { reason: FAILURE_REASON.ValidationBreach, message } };
  }
  return a;
}

/** Records a failover from `from` to `to` (count, lastTransition, the hold, a Warning Event). */
export function recordFailover(
  s: DecisionState,
  from: string,
  to: string,
  reason: string,
  message: string,
): void {
  s.failoverCount += 1;
  s.lastTransition = { from, to, reason, at: s.at };
  s.failedOver = true;
  s.failedOverGeneration = s.model.generation;
  s.events.push({
    type: "Warning",
    reason: EVENT_REASON.Failover,
    action: "Failover",
    note: `${from} unavailable (${reason}: ${message}); now serving ${to}`,
  });
}

/** fallbackVersion first, then the last known good; never the failing one, never one that cannot start. */
export function pickFailoverTarget(s: DecisionState, failing: string): string | undefined {
  for (const candidate of [s.spec.failover?.fallbackVersion, s.lastKnownGood]) {
    if (candidate === undefined || candidate === failing || !s.names.includes(candidate)) continue;
    if (hardFailure(s.health(candidate))) continue;
    if (s.mustNotServe(candidate)) continue;
    return candidate;
  }
  return undefined;
}

export function failover(s: DecisionState): void {
  if (s.suspended) return;
  const sp = servingProblem(s, s.serving);
  if (sp.problem) {
    const target = s.failoverEnabled ? pickFailoverTarget(s, s.serving) : undefined;
    if (target) {
      recordFailover(s, s.serving, target, sp.problem.reason, sp.problem.message);
      s.serving = target;
      s.canary = undefined;
    } else if (
      sp.problem.reason === FAILURE_REASON.Unavailable &&
      s.lastKnownGood === undefined &&
      s.failoverEnabled
    ) {
      // Nothing has served healthily yet (first load of a model): that is progress, not degradation.
    } else {
      const why = s.failoverEnabled
        ? "no healthy fallback version (no lastKnownGoodVersion or fallbackVersion yet)"
        : "failover is disabled";
      s.degraded.push({
        reason: s.failoverEnabled ? REASON.NoHealthyFallback : REASON.ServingUnavailable,
        message: `${s.serving} unavailable (${sp.problem.reason}: ${sp.problem.message}); ${why}`,
      });
    }
  } else if (sp.recheckAfterMs !== undefined) {
    s.requeue.after(sp.recheckAfterMs);
  }
}
