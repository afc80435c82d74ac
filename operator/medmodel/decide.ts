/**
 * The MedModel decision: which version the stable Service serves, how many replicas each version gets, the
 * canary step, failover and fail-back, the stop button — a pure function of (spec, previous status, observed
 * health, validation verdicts, now). The controller gathers the inputs and applies the outputs; nothing here
 * does I/O or reads a clock. The rules are documented in docs/medmodel.md.
 */
import { type Condition, findCondition, setCondition, toRfc3339 } from "../runtime/index.ts";
import { canarySplit, canarySteps } from "./canary.ts";
import { parseDurationMs } from "./duration.ts";
import { availability, fullyHealthy, hardFailure, phaseOf } from "./health.ts";
import {
  ANNOTATIONS,
  CONDITION,
  DEFAULT_OPTIONS,
  type CanaryStatus,
  type Decision,
  type DecisionEvent,
  type DecisionInput,
  type DecisionStatus,
  type FailoverTransition,
  type VersionStatus,
} from "./types.ts";

/** Annotation values end up in Events and status: keep them short and printable. */
export function sanitizeNote(value: string | undefined, max = 200): string | undefined {
  if (value === undefined) return undefined;
  const clean = value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (clean === "") return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export const GATEWAY_API_UNAVAILABLE = "GatewayAPIUnavailable";

class Requeue {
  ms: number | undefined;
  after(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    if (this.ms === undefined || v < this.ms) this.ms = v;
  }
}

export function decide(input: DecisionInput): Decision {
  const opts = { ...DEFAULT_OPTIONS, ...input.options };
  const { spec, previous, model, now, verdicts } = input;
  const nowDate = new Date(now);
  const at = toRfc3339(nowDate);
  const names = spec.versions.map((v) => v.name);
  const total = Math.max(0, spec.serving?.replicas ?? 1);
  const events: DecisionEvent[] = [];
  const requeue = new Requeue();
  const health = (v: string) => input.health[v];
  const prevConditions = previous.conditions ?? [];
  const annotations = model.annotations ?? {};
  const strategy = spec.rollout?.strategy ?? "Canary";
  const steps = canarySteps(spec);
  const useCanary = strategy === "Canary" && steps.length > 0;
  const failoverEnabled = spec.failover?.enabled !== false;
  const unavailableAfterMs =
    parseDurationMs(spec.failover?.unavailableAfter) ?? opts.defaultUnavailableAfterMs;
  const breachCounts = spec.failover?.onValidationBreach === true;
  const suspended = spec.suspend === true;

  // The version clinicians should get: spec.activeVersion, else the last listed version.
  const desired =
    spec.activeVersion !== undefined && names.includes(spec.activeVersion)
      ? spec.activeVersion
      : names[names.length - 1];
  if (desired === undefined)
    throw new Error("decide: spec.versions is empty (the API server should reject this)");
  const invalidActive = spec.activeVersion !== undefined && !names.includes(spec.activeVersion);

  /** Availability of a version that serves traffic (a breached validation counts when the spec says so). */
  const servingProblem = (v: string) => {
    const a = availability(health(v), unavailableAfterMs, now);
    if (!a.problem && breachCounts && verdicts[v] === "Failed") {
      return { problem: { reason: "ValidationBreach", message: "the ValidationPolicy verdict is Failed" } };
    }
    return a;
  };

  // ---- state carried over from the previous status ----
  let serving =
    previous.activeVersion !== undefined && names.includes(previous.activeVersion)
      ? previous.activeVersion
      : undefined;
  let canary: CanaryStatus | undefined =
    previous.canary && names.includes(previous.canary.version) ? { ...previous.canary } : undefined;
  let failoverCount = previous.failover?.count ?? 0;
  let lastTransition: FailoverTransition | undefined = previous.failover?.lastTransition;
  const prevFailedOver = findCondition(prevConditions, CONDITION.FailedOver);
  let failedOver = prevFailedOver?.status === "True" && lastTransition !== undefined;
  let failedOverGeneration = prevFailedOver?.observedGeneration ?? model.generation;
  let lastKnownGood =
    previous.lastKnownGoodVersion !== undefined && names.includes(previous.lastKnownGoodVersion)
      ? previous.lastKnownGoodVersion
      : undefined;
  let consumeRetryAnnotation = false;
  let progressing: { status: boolean; reason: string; message: string } | undefined;
  const degraded: { reason: string; message: string }[] = [];

  if (serving === undefined) {
    // First reconcile, or the serving version was removed from spec.versions: nothing else to serve.
    if (previous.activeVersion !== undefined) {
      events.push({
        type: "Normal",
        reason: "Switched",
        action: "Serve",
        note: `version ${previous.activeVersion} was removed from spec.versions; serving ${desired}`,
      });
    }
    serving = desired;
    canary = undefined;
    failedOver = false;
  }
  if (failedOver && lastTransition && !names.includes(lastTransition.from)) failedOver = false;

  // ---- fail-back: only when the held version is healthy again AND the user or a policy asks ----
  const retryAnnotation = annotations[ANNOTATIONS.retryVersion];
  if (failedOver && lastTransition) {
    const held = lastTransition.from;
    if (held !== desired) {
      // The user picked another version: the failover hold no longer applies, roll out the new choice.
      failedOver = false;
      events.push({
        type: "Normal",
        reason: "FailoverCleared",
        action: "Rollout",
        note: `activeVersion is now ${desired}; failover hold on ${held} released`,
      });
    } else {
      const asked = model.generation > failedOverGeneration || retryAnnotation === held;
      const healthyAgain =
        fullyHealthy(health(held), total) && !(breachCounts && verdicts[held] === "Failed");
      if (asked && healthyAgain) {
        failedOver = false;
        if (retryAnnotation === held) consumeRetryAnnotation = true;
        events.push({
          type: "Normal",
          reason: "FailBack",
          action: "Rollout",
          note: `${held} is healthy again and a retry was requested; rolling it out (${strategy})`,
        });
      } else if (asked) {
        progressing = {
          status: true,
          reason: "AwaitingRecovery",
          message: `retry of ${held} requested; waiting until all its replicas are ready`,
        };
      }
    }
  }
  // The retry annotation is one-shot: drop it when there is nothing (left) to retry.
  if (retryAnnotation !== undefined && !failedOver) consumeRetryAnnotation = true;

  const recordFailover = (from: string, to: string, reason: string, message: string) => {
    failoverCount += 1;
    lastTransition = { from, to, reason, at };
    failedOver = true;
    failedOverGeneration = model.generation;
    events.push({
      type: "Warning",
      reason: "Failover",
      action: "Failover",
      note: `${from} unavailable (${reason}: ${message}); now serving ${to}`,
    });
  };

  if (!suspended) {
    // ---- failover of the serving version ----
    const sp = servingProblem(serving);
    if (sp.problem) {
      const target = failoverEnabled ? pickFailoverTarget(serving) : undefined;
      if (target) {
        recordFailover(serving, target, sp.problem.reason, sp.problem.message);
        serving = target;
        canary = undefined;
      } else if (sp.problem.reason === "Unavailable" && lastKnownGood === undefined && failoverEnabled) {
        // Nothing has served healthily yet (first load of a model): that is progress, not degradation.
      } else {
        const why = failoverEnabled
          ? "no healthy fallback version (no lastKnownGoodVersion or fallbackVersion yet)"
          : "failover is disabled";
        degraded.push({
          reason: failoverEnabled ? "NoHealthyFallback" : "ServingUnavailable",
          message: `${serving} unavailable (${sp.problem.reason}: ${sp.problem.message}); ${why}`,
        });
      }
    } else if (sp.recheckAfterMs !== undefined) {
      requeue.after(sp.recheckAfterMs);
    }

    // ---- canary bookkeeping: cancelled, or aborted because the canary fails ----
    if (canary && (canary.version !== desired || !useCanary || failedOver)) {
      if (canary.version !== desired || !useCanary) {
        events.push({
          type: "Normal",
          reason: "RolloutCancelled",
          action: "Rollout",
          note: `canary of ${canary.version} cancelled: the spec no longer asks for it`,
        });
      }
      canary = undefined;
    }
    if (canary) {
      const hard =
        hardFailure(health(canary.version)) ??
        (breachCounts && verdicts[canary.version] === "Failed"
          ? { reason: "ValidationBreach", message: "the ValidationPolicy verdict is Failed" }
          : undefined);
      if (hard) {
        recordFailover(canary.version, serving, hard.reason, `canary aborted: ${hard.message}`);
        canary = undefined;
      }
    }

    // ---- last known good (the failover target): see provenServing() ----
    const proven = provenServing();
    if (proven !== undefined && proven !== lastKnownGood) {
      lastKnownGood = proven;
      events.push({
        type: "Normal",
        reason: "LastKnownGood",
        action: "Record",
        note: `${proven} served healthily: it is the failover target now`,
      });
    }

    // ---- rollout towards the desired version ----
    if (!failedOver && serving !== desired) {
      const requireValidation = spec.rollout?.requireValidation === true;
      const verdict = verdicts[desired];
      const gateOpen = !requireValidation || verdict === "Passed";
      const dh = health(desired);
      const hard = hardFailure(dh);
      const switchTo = (how: string) => {
        events.push({
          type: "Normal",
          reason: "Promoted",
          action: "Promote",
          note: `serving ${desired} (was ${serving}) after ${how}`,
        });
        serving = desired;
        canary = undefined;
      };
      if (requireValidation && verdict === "Failed") {
        canary = undefined;
        progressing = {
          status: false,
          reason: "ValidationFailed",
          message: `${desired} failed validation; ${serving} keeps serving`,
        };
        degraded.push({ reason: "ValidationFailed", message: `${desired} failed its ValidationPolicy` });
      } else if (hard) {
        progressing = {
          status: false,
          reason: "RolloutStalled",
          message: `${desired} cannot start (${hard.reason}); ${serving} keeps serving`,
        };
        degraded.push({ reason: "VersionFailed", message: `${desired}: ${hard.reason}: ${hard.message}` });
      } else if (!useCanary) {
        const needed = strategy === "Immediate" ? 1 : total;
        const ready = (dh?.readyReplicas ?? 0) >= needed && needed > 0;
        if (ready && gateOpen)
          switchTo(strategy === "Immediate" ? "it became ready" : "all replicas became ready");
        else {
          progressing = ready
            ? {
                status: true,
                reason: "AwaitingValidation",
                message: `${desired} is ready; waiting for a Passed verdict`,
              }
            : {
                status: true,
                reason: "RolloutInProgress",
                message: `${strategy}: waiting for ${desired} (${dh?.readyReplicas ?? 0}/${needed} ready)`,
              };
        }
      } else if (!canary) {
        const first = steps[0]!;
        canary = { version: desired, weight: first.weight, step: 0, since: at };
        events.push({
          type: "Normal",
          reason: "CanaryStarted",
          action: "Rollout",
          note: `canary of ${desired} at ${first.weight}% (step 1/${steps.length}); ${serving} serves the rest`,
        });
        requeue.after(parseDurationMs(first.pause) ?? 1000);
      } else {
        const stepIndex = Math.min(canary.step, steps.length - 1);
        const step = steps[stepIndex]!;
        canary = { ...canary, step: stepIndex, weight: step.weight };
        const wanted = canarySplit(total, step.weight).canary;
        const ready = (dh?.readyReplicas ?? 0) >= wanted;
        const pauseMs = parseDurationMs(step.pause) ?? 0;
        const elapsed = now - Date.parse(canary.since);
        if (!ready) {
          progressing = {
            status: true,
            reason: "CanaryInProgress",
            message: `step ${stepIndex + 1}/${steps.length} (${step.weight}%): waiting for ${wanted} ready canary replica(s)`,
          };
        } else if (elapsed < pauseMs) {
          requeue.after(pauseMs - elapsed);
          progressing = {
            status: true,
            reason: "CanaryInProgress",
            message: `step ${stepIndex + 1}/${steps.length} (${step.weight}%): pausing`,
          };
        } else if (stepIndex + 1 < steps.length) {
          const next = steps[stepIndex + 1]!;
          canary = { version: desired, weight: next.weight, step: stepIndex + 1, since: at };
          events.push({
            type: "Normal",
            reason: "CanaryStep",
            action: "Rollout",
            note: `canary of ${desired} at ${next.weight}% (step ${stepIndex + 2}/${steps.length})`,
          });
          requeue.after(parseDurationMs(next.pause) ?? 1000);
        } else if (gateOpen) {
          switchTo(`${steps.length} canary step(s)`);
        } else {
          progressing = {
            status: true,
            reason: "AwaitingValidation",
            message: `canary of ${desired} complete; waiting for a Passed verdict before promotion`,
          };
        }
      }
    } else if (serving === desired && canary) {
      canary = undefined;
    }
  }

  // ---- replicas per version ----
  const replicas: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const raise = (v: string | undefined, n: number) => {
    if (v !== undefined && v in replicas) replicas[v] = Math.max(replicas[v] ?? 0, n);
  };
  if (canary) {
    const split = canarySplit(total, canary.weight);
    raise(serving, split.stable);
    raise(canary.version, split.canary);
  } else {
    raise(serving, total);
    // Warm standby so failover is a Service selector change, not a cold start.
    for (const standby of [spec.failover?.fallbackVersion, lastKnownGood]) {
      if (failoverEnabled && standby !== serving) raise(standby, Math.min(opts.standbyReplicas, total));
    }
    // The held version keeps running so its recovery can be observed; the desired one is previewed.
    if (failedOver && lastTransition) raise(lastTransition.from, total);
    if (!failedOver && serving !== desired) raise(desired, total);
  }

  // ---- conditions ----
  const gen = model.generation;
  const suspendedBy = sanitizeNote(annotations[ANNOTATIONS.suspendedBy], 80);
  const suspendReason = sanitizeNote(spec.suspendReason);
  const servingHealth = health(serving);
  const servingReady = servingHealth?.readyReplicas ?? 0;
  const servingWanted = replicas[serving] ?? 0;
  let conditions: Condition[] = [...prevConditions];
  const set = (type: string, status: boolean, reason: string, message: string, observedGeneration = gen) => {
    conditions = setCondition(
      conditions,
      { type, status: status ? "True" : "False", reason, message, observedGeneration },
      nowDate,
    );
  };

  const prevSuspended = findCondition(prevConditions, CONDITION.Suspended)?.status === "True";
  const suspendMessage = `inference stopped${suspendedBy ? ` by ${suspendedBy}` : ""}${suspendReason ? `: ${suspendReason}` : ""}`;
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

  if (failedOver && lastTransition) {
    const t = lastTransition;
    set(
      CONDITION.FailedOver,
      true,
      t.reason,
      `serving ${t.to} instead of ${t.from} since ${t.at} (${t.reason}); returns to ${t.from} once it is healthy ` +
        `and a retry is asked (a spec change, or annotation ${ANNOTATIONS.retryVersion}=${t.from})`,
      failedOverGeneration,
    );
    degraded.push({ reason: "FailedOver", message: `serving ${t.to} instead of ${t.from}` });
  } else {
    set(CONDITION.FailedOver, false, "NotFailedOver", `serving ${serving} as desired`);
  }

  if (invalidActive) {
    degraded.push({
      reason: "UnknownActiveVersion",
      message: "spec.activeVersion names no entry of spec.versions",
    });
  }
  if (!progressing) {
    if (suspended)
      progressing = { status: false, reason: "Suspended", message: "rollouts are frozen while suspended" };
    else if (canary)
      progressing = { status: true, reason: "CanaryInProgress", message: `canary of ${canary.version}` };
    else if (servingReady < servingWanted)
      progressing = {
        status: true,
        reason: "ScalingUp",
        message: `${serving}: ${servingReady}/${servingWanted} replicas ready`,
      };
    else if (failedOver)
      progressing = {
        status: false,
        reason: "FailedOver",
        message: "holding on the fallback until a retry is asked",
      };
    else
      progressing = {
        status: false,
        reason: "Complete",
        message: `${serving} serves with all replicas ready`,
      };
  }
  set(CONDITION.Progressing, progressing.status, progressing.reason, progressing.message);

  const prevDegraded = findCondition(prevConditions, CONDITION.Degraded);
  if (spec.rollout?.trafficRouting?.gatewayAPI !== undefined && input.gatewayApiServed === false) {
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

  // ---- per-version status ----
  const prevPhases = new Map((previous.versions ?? []).map((v) => [v.name, v.phase]));
  const versions: VersionStatus[] = spec.versions.map((v) => {
    const h = health(v.name);
    const planned = replicas[v.name] ?? 0;
    const { phase, message } = phaseOf(h, planned);
    if (phase === "Failed" && prevPhases.get(v.name) !== "Failed") {
      events.push({
        type: "Warning",
        reason: "VersionFailed",
        action: "Load",
        note: `${v.name}: ${message}`,
      });
    }
    const verdict = verdicts[v.name];
    return {
      name: v.name,
      phase,
      readyReplicas: h?.readyReplicas ?? 0,
      digest: v.source.sha256,
      ...(verdict !== undefined ? { validated: verdict === "Passed" } : {}),
      ...(message !== undefined ? { message } : {}),
    };
  });

  const status: DecisionStatus = {
    conditions,
    activeVersion: serving,
    ...(lastKnownGood !== undefined ? { lastKnownGoodVersion: lastKnownGood } : {}),
    ...(canary ? { canary } : {}),
    versions,
    failover: { count: failoverCount, ...(lastTransition ? { lastTransition } : {}) },
    endpoint: `http://${model.name}.${model.namespace}.svc/v2/models/${model.name}`,
  };

  return {
    servingVersion: serving,
    splitTraffic: canary !== undefined,
    replicas,
    status,
    events,
    ...(requeue.ms !== undefined ? { requeueAfterMs: requeue.ms } : {}),
    consumeRetryAnnotation,
    control: suspended ? { suspended: true, reason: suspendMessage } : { suspended: false },
  };

  /**
   * The serving version, when it served healthily — steady (Progressing False) and fully ready for minHealthy,
   * never failed validation — AND the last known good should move to it: there is none yet (first version), or a
   * rollout away from it starts now. Moving it only then keeps the previous good version as the failover target
   * while a newer version serves, which is what failover needs.
   */
  function provenServing(): string | undefined {
    const s = serving!;
    const rolloutStarts = !failedOver && s !== desired;
    if (lastKnownGood !== undefined && !rolloutStarts) return undefined;
    const prevProgressing = findCondition(prevConditions, CONDITION.Progressing);
    if (s !== previous.activeVersion || previous.canary || prevProgressing?.status !== "False")
      return undefined;
    if (!fullyHealthy(health(s), total) || verdicts[s] === "Failed") return undefined;
    const steadySince = Math.max(Date.parse(prevProgressing.lastTransitionTime), health(s)?.readySince ?? 0);
    const steadyFor = now - steadySince;
    if (steadyFor >= opts.minHealthyMs) return s;
    if (lastKnownGood === undefined) requeue.after(opts.minHealthyMs - steadyFor);
    return undefined;
  }

  /** fallbackVersion first, then the last known good; never the failing one, never one that cannot start. */
  function pickFailoverTarget(failing: string): string | undefined {
    for (const candidate of [spec.failover?.fallbackVersion, lastKnownGood]) {
      if (candidate === undefined || candidate === failing || !names.includes(candidate)) continue;
      if (hardFailure(health(candidate))) continue;
      if (breachCounts && verdicts[candidate] === "Failed") continue;
      return candidate;
    }
    return undefined;
  }
}
