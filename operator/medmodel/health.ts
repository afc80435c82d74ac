/**
 * Pure classification of one version's observed health: is it unavailable (and why), is it fully healthy, and
 * which phase does status show. Times are epoch milliseconds.
 */
import { FAILURE_REASON } from "./reasons.ts";
import type { VersionHealth, VersionPhase } from "./types.ts";

export interface Problem {
  /** A stable reason code: DigestMismatch, FetchFailed, CrashLoopBackOff, Unavailable, ValidationBreach, … */
  reason: string;
  message: string;
}

/**
 * A hard failure: the version cannot serve no matter how long we wait (its model failed to fetch or verify,
 * or its sidecar crash-loops). Hard failures trigger failover at once.
 */
export function hardFailure(h: VersionHealth | undefined): Problem | undefined {
  if (!h) return undefined;
  if (h.failure) return { reason: h.failure.reason, message: h.failure.message };
  if (h.crashLooping)
    return { reason: FAILURE_REASON.CrashLoopBackOff, message: "the inference sidecar keeps crashing" };
  return undefined;
}

export interface Availability {
  problem?: Problem;
  /** No ready replica yet, but not for long enough: look again after this many ms. */
  recheckAfterMs?: number;
}

/**
 * Whether a serving version is unavailable: a hard failure, or no ready replica for `unavailableAfterMs`.
 * A Deployment that does not exist yet is not judged (the controller is about to create it).
 */
export function availability(
  h: VersionHealth | undefined,
  unavailableAfterMs: number,
  now: number,
): Availability {
  const hard = hardFailure(h);
  if (hard) return { problem: hard };
  if (!h?.exists || h.readyReplicas > 0 || h.unavailableSince === undefined) return {};
  const elapsed = now - h.unavailableSince;
  if (elapsed >= unavailableAfterMs) {
    return {
      problem: {
        reason: FAILURE_REASON.Unavailable,
        message: `no ready replica for ${Math.round(elapsed / 1000)}s (unavailableAfter ${Math.round(unavailableAfterMs / 1000)}s)`,
      },
    };
  }
  return { recheckAfterMs: unavailableAfterMs - elapsed };
}

/** Every wanted replica is ready and nothing is failing. */
export function fullyHealthy(h: VersionHealth | undefined, replicas: number): boolean {
  return !!h && h.exists && !hardFailure(h) && replicas > 0 && h.readyReplicas >= replicas;
}

export function phaseOf(
  h: VersionHealth | undefined,
  plannedReplicas: number,
): { phase: VersionPhase; message?: string } {
  const hard = hardFailure(h);
  if (hard) return { phase: "Failed", message: `${hard.reason}: ${hard.message}` };
  if (plannedReplicas === 0) return { phase: "Retired", message: "scaled to zero: not serving" };
  if (!h?.exists) return { phase: "Pending", message: "Deployment not created yet" };
  if (h.readyReplicas > 0)
    return { phase: "Ready", message: `${h.readyReplicas}/${plannedReplicas} replicas ready` };
  if (h.pods === 0) return { phase: "Pending", message: "waiting for pods" };
  return { phase: "Loading", message: "fetching and verifying the model, starting the sidecar" };
}
