/**
 * The one state record the decision's phases work on (decide.ts runs them in order). The first block is the
 * input, read-only and derived once; the second is what the phases decide, each phase reading what the earlier
 * ones left. Pure data: no I/O, no clock (`now` is the injected time).
 */
import type { Condition } from "../../runtime/index.ts";
import { toRfc3339 } from "../../runtime/index.ts";
import { canarySteps } from "../canary.ts";
import { parseDurationMs } from "../../runtime/duration.ts";
import type { Reason } from "../reasons.ts";
import {
  type CanaryStatus,
  type CanaryStep,
  type DecisionEvent,
  type DecisionInput,
  type DecisionOptions,
  type DecisionSpec,
  type DecisionStatus,
  DEFAULT_OPTIONS,
  type FailoverTransition,
  type PolicyRequests,
  type RolloutStrategy,
  type Verdict,
  type VersionHealth,
  type VersionStatus,
} from "../types.ts";

/** The earliest of the delays the phases ask to be reconciled again after. */
export class Requeue {
  ms: number | undefined;
  after(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    if (this.ms === undefined || v < this.ms) this.ms = v;
  }
}

export interface Progressing {
  status: boolean;
  reason: Reason;
  message: string;
}

export interface DecisionState {
  // ---- input (read-only) ----
  readonly input: DecisionInput;
  readonly opts: DecisionOptions;
  readonly spec: DecisionSpec;
  readonly previous: DecisionStatus;
  readonly model: DecisionInput["model"];
  readonly verdicts: Record<string, Verdict>;
  readonly now: number;
  readonly nowDate: Date;
  /** `now` as RFC 3339 (status timestamps). */
  readonly at: string;
  readonly names: string[];
  /** spec.serving.replicas: pods of the serving version. */
  readonly total: number;
  readonly prevConditions: Condition[];
  readonly annotations: Record<string, string>;
  readonly strategy: RolloutStrategy;
  readonly steps: CanaryStep[];
  readonly useCanary: boolean;
  readonly failoverEnabled: boolean;
  readonly unavailableAfterMs: number;
  /** spec.failover.onValidationBreach: a Failed verdict counts like unavailability. */
  readonly breachCounts: boolean;
  /** Versions a ValidationPolicy took the Failover action for (open episodes): they must not serve. */
  readonly policyFailover: ReadonlySet<string>;
  /** A ValidationPolicy's Suspend no person has resumed yet. */
  readonly policySuspend: PolicyRequests["suspend"];
  /** A version that must not serve: its policy asked for Failover, or its verdict failed and that counts. */
  mustNotServe(version: string): boolean;
  readonly suspended: boolean;
  /** The version clinicians should get: spec.activeVersion, else the last listed version. */
  readonly desired: string;
  /** spec.activeVersion names no entry of spec.versions. */
  readonly invalidActive: boolean;
  health(version: string): VersionHealth | undefined;

  // ---- decided by the phases ----
  events: DecisionEvent[];
  requeue: Requeue;
  /** The version the stable Service selects (set by carry-over). */
  serving: string;
  canary: CanaryStatus | undefined;
  failoverCount: number;
  lastTransition: FailoverTransition | undefined;
  failedOver: boolean;
  failedOverGeneration: number;
  lastKnownGood: string | undefined;
  consumeRetryAnnotation: boolean;
  progressing: Progressing | undefined;
  degraded: { reason: Reason; message: string }[];
  replicas: Record<string, number>;
  conditions: Condition[];
  /** "inference stopped by <who>: <why>" (conditions phase; also the control file's reason). */
  suspendMessage: string;
  versions: VersionStatus[];
}

export function initialState(input: DecisionInput): DecisionState {
  const opts = { ...DEFAULT_OPTIONS, ...input.options };
  const { spec, previous, model, now, verdicts } = input;
  const names = spec.versions.map((v) => v.name);
  const desired =
    spec.activeVersion !== undefined && names.includes(spec.activeVersion)
      ? spec.activeVersion
      : names[names.length - 1];
  if (desired === undefined)
    throw new Error("decide: spec.versions is empty (the API server should reject this)");
  const steps = canarySteps(spec);
  const strategy = spec.rollout?.strategy ?? "Canary";
  const nowDate = new Date(now);
  return {
    input,
    opts,
    spec,
    previous,
    model,
    verdicts,
    now,
    nowDate,
    at: toRfc3339(nowDate),
    names,
    total: Math.max(0, spec.serving?.replicas ?? 1),
    prevConditions: previous.conditions ?? [],
    annotations: model.annotations ?? {},
    strategy,
    steps,
    useCanary: strategy === "Canary" && steps.length > 0,
    failoverEnabled: spec.failover?.enabled !== false,
    unavailableAfterMs: parseDurationMs(spec.failover?.unavailableAfter) ?? opts.defaultUnavailableAfterMs,
    breachCounts: spec.failover?.onValidationBreach === true,
    policyFailover: new Set(input.policy?.failover ?? []),
    policySuspend: input.policy?.suspend,
    mustNotServe: (v) =>
      (input.policy?.failover ?? []).includes(v) ||
      (spec.failover?.onValidationBreach === true && verdicts[v] === "Failed"),
    suspended: spec.suspend === true || input.policy?.suspend !== undefined,
    desired,
    invalidActive: spec.activeVersion !== undefined && !names.includes(spec.activeVersion),
    health: (v) => input.health[v],

    events: [],
    requeue: new Requeue(),
    serving: desired,
    canary: undefined,
    failoverCount: 0,
    lastTransition: undefined,
    failedOver: false,
    failedOverGeneration: model.generation,
    lastKnownGood: undefined,
    consumeRetryAnnotation: false,
    progressing: undefined,
    degraded: [],
    replicas: {},
    conditions: [],
    suspendMessage: "",
    versions: [],
  };
}
