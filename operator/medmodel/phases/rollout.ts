/**
 * Phase 6, rollout towards the desired version: Immediate (one ready replica), BlueGreen (all replicas ready) or
 * Canary (the steps, each holding its pause once its replicas are ready), gated by a Passed verdict when
 * requireValidation is set; a desired version that cannot start or failed validation stalls the rollout while the
 * serving version keeps serving.
 */
import { canarySplit } from "../canary.ts";
import { parseDurationMs } from "../../runtime/duration.ts";
import { hardFailure } from "../health.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON, REASON } from "../reasons.ts";

export function rollout(s: DecisionState): void {
  if (s.suspended) return;
  const { desired, spec, verdicts, steps, total, strategy, useCanary, at, now } = s;
  if (!s.failedOver && s.serving !== desired) {
    const requireValidation = spec.rollout?.requireValidation === true;
    const verdict = verdicts[desired];
    const gateOpen = !requireValidation || verdict === "Passed";
    const dh = s.health(desired);
    const hard = hardFailure(dh);
    const switchTo = (how: string) => {
      s.events.push({
        type: "Normal",
        reason: EVENT_REASON.Promoted,
        action: "Promote",
        note: `serving ${desired} (was ${s.serving}) after ${how}`,
      });
      s.serving = desired;
      s.canary = undefined;
    };
    if (requireValidation && verdict === "Failed") {
      s.canary = undefined;
      s.progressing = {
        status: false,
        reason: REASON.ValidationFailed,
        message: `${desired} failed validation; ${s.serving} keeps serving`,
      };
      s.degraded.push({ reason: REASON.ValidationFailed, message: `${desired} failed its ValidationPolicy` });
    } else if (hard) {
      s.progressing = {
        status: false,
        reason: REASON.RolloutStalled,
        message: `${desired} cannot start (${hard.reason}); ${s.serving} keeps serving`,
      };
      s.degraded.push({
        reason: REASON.VersionFailed,
        message: `${desired}: ${hard.reason}: ${hard.message}`,
      });
    } else if (!useCanary) {
      const needed = strategy === "Immediate" ? 1 : total;
      const ready = (dh?.readyReplicas ?? 0) >= needed && needed > 0;
      if (ready && gateOpen)
        switchTo(strategy === "Immediate" ? "it became ready" : "all replicas became ready");
      else {
        s.progressing = ready
          ? {
              status: true,
              reason: REASON.AwaitingValidation,
              message: `${desired} is ready; waiting for a Passed verdict`,
            }
          : {
              status: true,
              reason: REASON.RolloutInProgress,
              message: `${strategy}: waiting for ${desired} (${dh?.readyReplicas ?? 0}/${needed} ready)`,
            };
      }
    } else if (!s.canary) {
      const first = steps[0]!;
      s.canary = { version: desired, weight: first.weight, step: 0, since: at };
      s.events.push({
        type: "Normal",
        reason: EVENT_REASON.CanaryStarted,
        action: "Rollout",
        note: `canary of ${desired} at ${first.weight}% (step 1/${steps.length}); ${s.serving} serves the rest`,
      });
      s.requeue.after(parseDurationMs(first.pause) ?? 1000);
    } else {
      const stepIndex = Math.min(s.canary.step, steps.length - 1);
      const step = steps[stepIndex]!;
      s.canary = { ...s.canary, step: stepIndex, weight: step.weight };
      const wanted = canarySplit(total, step.weight).canary;
      const ready = (dh?.readyReplicas ?? 0) >= wanted;
      const pauseMs = parseDurationMs(step.pause) ?? 0;
      const elapsed = now - Date.parse(s.canary.since);
      if (!ready) {
        s.progressing = {
          status: true,
          reason: REASON.CanaryInProgress,
          message: `step ${stepIndex + 1}/${steps.length} (${step.weight}%): waiting for ${wanted} ready canary replica(s)`,
        };
      } else if (elapsed < pauseMs) {
        s.requeue.after(pauseMs - elapsed);
        s.progressing = {
          status: true,
          reason: REASON.CanaryInProgress,
          message: `step ${stepIndex + 1}/${steps.length} (${step.weight}%): pausing`,
        };
      } else if (stepIndex + 1 < steps.length) {
        const next = steps[stepIndex + 1]!;
        s.canary = { version: desired, weight: next.weight, step: stepIndex + 1, since: at };
        s.events.push({
          type: "Normal",
          reason: EVENT_REASON.CanaryStep,
          action: "Rollout",
          note: `canary of ${desired} at ${next.weight}% (step ${stepIndex + 2}/${steps.length})`,
        });
        s.requeue.after(parseDurationMs(next.pause) ?? 1000);
      } else if (gateOpen) {
        switchTo(`${steps.length} canary step(s)`);
      } else {
        s.progressing = {
          status: true,
          reason: REASON.AwaitingValidation,
          message: `canary of ${desired} complete; waiting for a Passed verdict before promotion`,
        };
      }
    }
  } else if (s.serving === desired && s.canary) {
    s.canary = undefined;
  }
}
