/**
 * Phase 4, canary bookkeeping: a canary the spec no longer asks for is cancelled; one whose version fails hard
 * (or breaches validation, when that counts) is aborted as a failover back to the serving version.
 */
import { hardFailure } from "../health.ts";
import { recordFailover } from "./failover.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON, FAILURE_REASON } from "../reasons.ts";

export function canary(s: DecisionState): void {
  if (s.suspended) return;
  const c = s.canary;
  if (c && (c.version !== s.desired || !s.useCanary || s.failedOver)) {
    if (c.version !== s.desired || !s.useCanary) {
      s.events.push({
        type: "Normal",
        reason: EVENT_REASON.RolloutCancelled,
        action: "Rollout",
        note: `canary of ${c.version} cancelled: the spec no longer asks for it`,
      });
    }
    s.canary = undefined;
  }
  if (s.canary) {
    const version = s.canary.version;
    const hard =
      hardFailure(s.health(version)) ??
      (s.mustNotServe(version)
        ? { reason: FAILURE_REASON.ValidationBreach, message: "the ValidationPolicy verdict is Failed" }
        : undefined);
    if (hard) {
      recordFailover(s, version, s.serving, hard.reason, `canary aborted: ${hard.message}`);
      s.canary = undefined;
    }
  }
}
