/**
 * Phase 2, fail-back: return to the version held after a failover only when it is healthy again AND the user or
 * a policy asks (a spec change, or the one-shot retry annotation); a different activeVersion releases the hold.
 */
import { fullyHealthy } from "../health.ts";
import { ANNOTATIONS } from "../types.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON, REASON } from "../reasons.ts";

export function failBack(s: DecisionState): void {
  const { annotations, desired, model, total, strategy } = s;
  const retryAnnotation = annotations[ANNOTATIONS.retryVersion];
  if (s.failedOver && s.lastTransition) {
    const held = s.lastTransition.from;
    if (held !== desired) {
      // The user picked another version: the failover hold no longer applies, roll out the new choice.
      s.failedOver = false;
      s.events.push({
        type: "Normal",
        reason: EVENT_REASON.FailoverCleared,
        action: "Rollout",
        note: `activeVersion is now ${desired}; failover hold on ${held} released`,
      });
    } else {
      const asked = model.generation > s.failedOverGeneration || retryAnnotation === held;
      const healthyAgain = fullyHealthy(s.health(held), total) && !s.mustNotServe(held);
      if (asked && healthyAgain) {
        s.failedOver = false;
        if (retryAnnotation === held) s.consumeRetryAnnotation = true;
        s.events.push({
          type: "Normal",
          reason: EVENT_REASON.FailBack,
          action: "Rollout",
          note: `${held} is healthy again and a retry was requested; rolling it out (${strategy})`,
        });
      } else if (asked) {
        s.progressing = {
          status: true,
          reason: REASON.AwaitingRecovery,
          message: `retry of ${held} requested; waiting until all its replicas are ready`,
        };
      }
    }
  }
  // The retry annotation is one-shot: drop it when there is nothing (left) to retry.
  if (retryAnnotation !== undefined && !s.failedOver) s.consumeRetryAnnotation = true;
}
