/**
 * Phase 8, conditions: Suspended, FailedOver, Progressing, Degraded and Ready from what the earlier phases
 * decided (with the Suspended/Resumed, GatewayAPIUnavailable and FailoverImpossible Events that go with their
 * transitions). lastTransitionTime moves only when a condition's status flips.
 */
import { findCondition, setCondition } from "../../runtime/index.ts";
import { hardFailure } from "../health.ts";
import { ANNOTATIONS, CONDITION } from "../types.ts";
import type { DecisionState } from "./state.ts";

export const GATEWAY_API_UNAVAILABLE = "GatewayAPIUnavailable";

/** Annotation values end up in Events and status: keep them short and printable. */
export function sanitizeNote(value: string | undefined, max = 200): string | undefined {
  if (value === undefined) return undefined;
  const clean = value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (clean === "") return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export function conditions(s: DecisionState): void {
  const { model, annotations, spec, suspended, prevConditions, nowDate, events, degraded, serving } = s;
  const gen = model.generation;
  const suspendedBy = sanitizeNote(annotations[ANNOTATIONS.suspendedBy], 80);
  const suspendReason = sanitizeNote(spec.suspendReason);
  const servingHealth = s.health(serving);
  const servingReady = servingHealth?.readyReplicas ?? 0;
  const servingWanted = s.replicas[serving] ?? 0;
  s.conditions = [...prevConditions];
  const set = (type: string, status: boolean, reason: string, message: string, observedGeneration = gen) => {
    s.conditions = setCondition(
      s.conditions,
      { type, status: status ? "True" : "False", reason, message, observedGeneration },
      nowDate,
    );
  };

  const prevSuspended = findCondition(prevConditions, CONDITION.Suspended)?.status === "True";
  const suspendMessage = `inference stopped${suspendedBy ? ` by ${suspendedBy}` : ""}${suspendReason ? `: ${suspendReason}` : ""}`;
  s.suspendMessage = suspendMessage;
  if (suspended) {
    set(CONDITION.Suspended, true, "Suspended", suspendMessage);
    if (!prevSuspended) {
      events.push({ type: "Warning", reason: "Suspended", action: "Suspend", note: suspendMessage });
    }
  } else {
    set(CONDITION.Suspended, false, "Serving", "spec.suspend is false");
    if (prevSuspended) {
      events.push({
        type: "Normal",
        reason: "Resumed",
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
      t.reason,
      `serving ${t.to} instead of ${t.from} since ${t.at} (${t.reason}); returns to ${t.from} once it is healthy ` +
        `and a retry is asked (a spec change, or annotation ${ANNOTATIONS.retryVersion}=${t.from})`,
      s.failedOverGeneration,
    );
    degraded.push({ reason: "FailedOver", message: `serving ${t.to} instead of ${t.from}` });
  } else {
    set(CONDITION.FailedOver, false, "NotFailedOver", `serving ${serving} as desired`);
  }

  if (s.invalidActive) {
    degraded.push({
      reason: "UnknownActiveVersion",
      message: "spec.activeVersion names no entry of spec.versions",
    });
  }
  if (!s.progressing) {
    if (suspended)
      s.progressing = { status: false, reason: "Suspended", message: "rollouts are frozen while suspended" };
    else if (s.canary)
      s.progressing = { status: true, reason: "CanaryInProgress", message: `canary of ${s.canary.version}` };
    else if (servingReady < servingWanted)
      s.progressing = {
        status: true,
        reason: "ScalingUp",
        message: `${serving}: ${servingReady}/${servingWanted} replicas ready`,
      };
    else if (s.failedOver)
      s.progressing = {
        status: false,
        reason: "FailedOver",
        message: "holding on the fallback until a retry is asked",
      };
    else
      s.progressing = {
        status: false,
        reason: "Complete",
        message: `${serving} serves with all replicas ready`,
      };
  }
  set(CONDITION.Progressing, s.progressing.status, s.progressing.reason, s.progressing.message);

  const prevDegraded = findCondition(prevConditions, CONDITION.Degraded);
  if (spec.rollout?.trafficRouting?.gatewayAPI !== undefined && s.input.gatewayApiServed === false) {
    const message = `${GATEWAY_API_UNAVAILABLE}: spec.rollout.trafficRouting.gatewayAPI is set but the cluster does not serve gateway.networking.k8s.io/v1 HTTPRoutes (install the Gateway API CRDs, then restart the operator); canary traffic splits by replica ratio`;
    degraded.push({ reason: GATEWAY_API_UNAVAILABLE, message });
    if (!prevDegraded?.message.includes(GATEWAY_API_UNAVAILABLE)) {
      events.push({ type: "Warning", reason: GATEWAY_API_UNAVAILABLE, action: "Route", note: message });
    }
  }
  const firstDegraded = degraded[0];
  if (firstDegraded) {
    set(CONDITION.Degraded, true, firstDegraded.reason, degraded.map((d) => d.message).join("; "));
    if (firstDegraded.reason === "NoHealthyFallback" && prevDegraded?.reason !== "NoHealthyFallback") {
      events.push({
        type: "Warning",
        reason: "FailoverImpossible",
        action: "Failover",
        note: firstDegraded.message,
      });
    }
  } else {
    set(CONDITION.Degraded, false, "AsExpected", "no known problem");
  }

  if (suspended) set(CONDITION.Ready, false, "Suspended", suspendMessage);
  else if (servingReady > 0 && !hardFailure(servingHealth))
    set(CONDITION.Ready, true, "Serving", `${serving} serves (${servingReady}/${servingWanted} ready)`);
  else set(CONDITION.Ready, false, "Unavailable", `${serving} has no ready replica`);
}
