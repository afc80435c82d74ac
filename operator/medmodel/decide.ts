/**
 * The MedModel decision: which version the stable Service serves, how many replicas each version gets, the
 * canary step, failover and fail-back, the stop button — a pure function of (spec, previous status, observed
 * health, validation verdicts, now). The controller gathers the inputs and applies the outputs; nothing here
 * does I/O or reads a clock. The rules are documented in docs/medmodel.md.
 *
 * A pipeline of phases over one state record (phases/state.ts), in this order — each in the file of its name.
 */
import { canary } from "./phases/canary.ts";
import { carryOver } from "./phases/carry-over.ts";
import { conditions } from "./phases/conditions.ts";
import { failBack } from "./phases/fail-back.ts";
import { failover } from "./phases/failover.ts";
import { lastKnownGood } from "./phases/last-known-good.ts";
import { replicas } from "./phases/replicas.ts";
import { rollout } from "./phases/rollout.ts";
import { type DecisionState, initialState } from "./phases/state.ts";
import { versionStatus } from "./phases/version-status.ts";
import type { Decision, DecisionInput, DecisionStatus } from "./types.ts";

export { GATEWAY_API_UNAVAILABLE, sanitizeNote } from "./phases/conditions.ts";

/** The phases in order. failover, canary, last-known-good and rollout do nothing while the model is suspended. */
export const PHASES: readonly ((s: DecisionState) => void)[] = [
  carryOver,
  failBack,
  failover,
  canary,
  lastKnownGood,
  rollout,
  replicas,
  conditions,
  versionStatus,
];

export function decide(input: DecisionInput): Decision {
  const s = initialState(input);
  for (const phase of PHASES) phase(s);
  const { model } = s;
  const status: DecisionStatus = {
    conditions: s.conditions,
    activeVersion: s.serving,
    ...(s.lastKnownGood !== undefined ? { lastKnownGoodVersion: s.lastKnownGood } : {}),
    ...(s.canary ? { canary: s.canary } : {}),
    versions: s.versions,
    failover: { count: s.failoverCount, ...(s.lastTransition ? { lastTransition: s.lastTransition } : {}) },
    // The stable Service: https on 443 with spec.serving.tls (children.ts servicePort), http on 80 without.
    endpoint: `${s.spec.serving?.tls ? "https" : "http"}://${model.name}.${model.namespace}.svc/v2/models/${model.name}`,
  };
  return {
    servingVersion: s.serving,
    splitTraffic: s.canary !== undefined,
    replicas: s.replicas,
    status,
    events: s.events,
    ...(s.requeue.ms !== undefined ? { requeueAfterMs: s.requeue.ms } : {}),
    consumeRetryAnnotation: s.consumeRetryAnnotation,
    control: s.suspended ? { suspended: true, reason: s.suspendMessage } : { suspended: false },
  };
}
