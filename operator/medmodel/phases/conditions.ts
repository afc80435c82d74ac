/**
 * Phase 8, conditions: Suspended, FailedOver, Progressing, Degraded and Ready from what the earlier phases
 * decided (with the Suspended/Resumed, GatewayAPIUnavailable and FailoverImpossible Events that go with their
 * transitions). lastTransitionTime moves only when a condition's status flips.
 */
import { findCondition, type KstatusState, setCondition, setKstatusConditions } from "../../runtime/index.ts";
import { hardFailure } from "../health.ts";
import { ANNOTATIONS, CONDITION, type DecisionSpec, type PolicyRequests } from "../types.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON, REASON, type Reason } from "../reasons.ts";

export const GATEWAY_API_UNAVAILABLE = REASON.GatewayAPIUnavailable;

/** Annotation values end up in Events and status: keep them short and printable. */
export function sanitizeNote(value: string | undefined, max = 200): string | undefined {
  if (value === undefined) return undefined;
  const clean = value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (clean === "") return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * Why the stop button is pressed and what control.json and the Suspended condition say: spec.suspend (who from the
 * annotation medmlops.io/suspended-by, why from spec.suspendReason) or else a ValidationPolicy's Suspend action.
 * Also used while a spec is refused by the admission re-check (admission.ts), where the button still works.
 */
export function stopOf(
  spec: Pick<DecisionSpec, "suspend" | "suspendReason">,
  annotations: Record<string, string>,
  policySuspend: PolicyRequests["suspend"],
): { reason: typeof REASON.Suspended | typeof REASON.PolicyBreach; message: string } {
  const byPolicy = spec.suspend !== true ? policySuspend : undefined;
  if (byPolicy)
    return {
      reason: REASON.PolicyBreach,
      message: `inference stopped by ValidationPolicy ${byPolicy.policy} (episode ${byPolicy.episode}): ${byPolicy.reason}; a person resumes it with the MedModel annotations medmlops.io/resume-episode=${byPolicy.episode}, medmlops.io/resumed-by=<who>, medmlops.io/resume-reason=<why>`,
    };
  const suspendedBy = sanitizeNote(annotations[ANNOTATIONS.suspendedBy], 80);
  const suspendReason = sanitizeNote(spec.suspendReason);
  return {
    reason: REASON.Suspended,
    message: `inference stopped${suspendedBy ? ` by ${suspendedBy}` : ""}${suspendReason ? `: ${suspendReason}` : ""}`,
  };
}

export function conditions(s: DecisionState): void {
  const { model, annotations, spec, suspended, prevConditions, nowDate, events, degraded, serving } = s;
  const gen = model.generation;
  const servingHealth = s.health(serving);
  const servingReady = servingHealth?.readyReplicas ?? 0;
  const servingWanted = s.replicas[serving] ?? 0;
  s.conditions = [...prevConditions];
  /** Reasons come from the catalogue (reasons.ts); FailedOver=True alone carries the cause, a FailureReason. */
  const set = (
    type: string,
    status: boolean,
    reason: Reason | { cause: string },
    message: string,
    observedGeneration = gen,
  ) => {
    s.conditions = setCondition(
      s.conditions,
      {
        type,
        status: status ? "True" : "False",
        reason: typeof reason === "string" ? reason : reason.cause,
        message,
        observedGeneration,
      },
      nowDate,
    );
  };

  const prevSuspended = findCondition(prevConditions, CONDITION.Suspended)?.status === "True";
  const { reason: suspendedReason, message: suspendMessage } = stopOf(spec, annotations, s.policySuspend);
  s.suspendMessage = suspendMessage;
  if (suspended) {
    set(CONDITION.Suspended, true, suspendedReason, suspendMessage);
    if (!prevSuspended) {
      events.push({
        type: "Warning",
        reason: EVENT_REASON.Suspended,
        action: "Suspend",
        note: suspendMessage,
      });
    }
  } else {
    set(CONDITION.Suspended, false, REASON.Serving, "spec.suspend is false");
    if (prevSuspended) {
      events.push({
        type: "Normal",
        reason: EVENT_REASON.Resumed,
        action: "Resume",
        note: `inference resumed on ${serving}`,
      });
    }
  }

  if (s.failedOver && s.lastTransition) {
    const t = s.lastTransition;
    set(
      CONDITION.FailedOver,
      true,
      { cause: t.reason },
      `serving ${t.to} instead of ${t.from} since ${t.at} (${t.reason}); returns to ${t.from} once it is healthy ` +
        `and a retry is asked (a spec change, or annotation ${ANNOTATIONS.retryVersion}=${t.from})`,
      s.failedOverGeneration,
    );
    degraded.push({ reason: REASON.FailedOver, message: `serving ${t.to} instead of ${t.from}` });
  } else {
    set(CONDITION.FailedOver, false, REASON.NotFailedOver, `serving ${serving} as desired`);
  }

  if (s.invalidActive) {
    degraded.push({
      reason: REASON.UnknownActiveVersion,
      message: "spec.activeVersion names no entry of spec.versions",
    });
  }
  if (!s.progressing) {
    if (suspended)
      s.progressing = {
        status: false,
        reason: REASON.Suspended,
        message: "rollouts are frozen while suspended",
      };
    else if (s.canary)
      s.progressing = {
        status: true,
        reason: REASON.CanaryInProgress,
        message: `canary of ${s.canary.version}`,
      };
    else if (servingReady < servingWanted)
      s.progressing = {
        status: true,
        reason: REASON.ScalingUp,
        message: `${serving}: ${servingReady}/${servingWanted} replicas ready`,
      };
    else if (s.failedOver)
      s.progressing = {
        status: false,
        reason: REASON.FailedOver,
        message: "holding on the fallback until a retry is asked",
      };
    else
      s.progressing = {
        status: false,
        reason: REASON.Complete,
        message: `${serving} serves with all replicas ready`,
      };
  }
  set(CONDITION.Progressing, s.progressing.status, s.progressing.reason, s.progressing.message);

  const prevDegraded = findCondition(prevConditions, CONDITION.Degraded);
  if (spec.rollout?.trafficRouting?.gatewayAPI !== undefined && s.input.gatewayApiServed === false) {
    const message = `${GATEWAY_API_UNAVAILABLE}: spec.rollout.trafficRouting.gatewayAPI is set but the cluster does not serve gateway.networking.k8s.io/v1 HTTPRoutes (install the Gateway API CRDs, then restart the operator); canary traffic splits by replica ratio`;
    degraded.push({ reason: GATEWAY_API_UNAVAILABLE, message });
    if (!prevDegraded?.message.includes(GATEWAY_API_UNAVAILABLE)) {
      events.push({
        type: "Warning",
        reason: EVENT_REASON.GatewayAPIUnavailable,
        action: "Route",
        note: message,
      });
    }
  }
  const firstDegraded = degraded[0];
  if (firstDegraded) {
    set(CONDITION.Degraded, true, firstDegraded.reason, degraded.map((d) => d.message).join("; "));
    if (
      firstDegraded.reason === REASON.NoHealthyFallback &&
      prevDegraded?.reason !== REASON.NoHealthyFallback
    ) {
      events.push({
        type: "Warning",
        reason: EVENT_REASON.FailoverImpossible,
        action: "Failover",
        note: firstDegraded.message,
      });
    }
  } else {
    set(CONDITION.Degraded, false, REASON.AsExpected, "no known problem");
  }

  if (suspended) set(CONDITION.Ready, false, suspendedReason, suspendMessage);
  else if (servingReady > 0 && !hardFailure(servingHealth))
    set(CONDITION.Ready, true, REASON.Serving, `${serving} serves (${servingReady}/${servingWanted} ready)`);
  else set(CONDITION.Ready, false, REASON.Unavailable, `${serving} has no ready replica`);

  s.conditions = setKstatusConditions(
    s.conditions,
    kstatusOf(s, servingReady, hardFailure(servingHealth)),
    gen,
    nowDate,
  );
}

/**
 * What kstatus should read (docs/medmodel.md, "kstatus"): Stalled when nothing more happens without a change by
 * someone — suspended, a spec naming an unknown version, Gateway API routing the cluster cannot serve, a serving
 * version that cannot start with nothing else ready, a rollout stalled on a version that cannot start or failed
 * validation, a failover hold; Reconciling while it still converges — a rollout, canary or scale-up, the serving
 * version not ready yet; otherwise settled (Current).
 */
function kstatusOf(
  s: DecisionState,
  servingReady: number,
  servingFailure: { reason: string; message: string } | undefined,
): KstatusState {
  const p = s.progressing!;
  const stalled = (reason: Reason, message: string): KstatusState => ({ state: "Stalled", reason, message });
  if (s.suspended) return stalled(REASON.Suspended, s.suspendMessage);
  if (s.invalidActive)
    return stalled(REASON.UnknownActiveVersion, "spec.activeVersion names no entry of spec.versions");
  const gateway = s.degraded.find((d) => d.reason === REASON.GatewayAPIUnavailable);
  if (gateway) return stalled(REASON.GatewayAPIUnavailable, gateway.message);
  if (servingFailure && servingReady === 0)
    return stalled(REASON.VersionFailed, `${s.serving}: ${servingFailure.reason}: ${servingFailure.message}`);
  if (p.status) return { state: "Reconciling", reason: p.reason, message: p.message };
  if (
    p.reason === REASON.RolloutStalled ||
    p.reason === REASON.ValidationFailed ||
    p.reason === REASON.FailedOver
  )
    return stalled(p.reason, p.message);
  if (servingReady === 0)
    return { state: "Reconciling", reason: REASON.Unavailable, message: `${s.serving} has no ready replica` };
  return { state: "Current", reason: REASON.Reconciled, message: p.message };
}
