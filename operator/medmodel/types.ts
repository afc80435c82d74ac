/**
 * The inputs and outputs of the MedModel decisions (decide.ts). Everything here is plain data: the controller
 * gathers it from the cache, the decision functions are pure, and the controller applies what they return.
 *
 * `DecisionSpec` is the subset of MedModel.spec the decisions read, so the decisions do not depend on fields
 * they never use (crds/ owns the full schema; a MedModelSpec is assignable to it).
 */
import type { Condition } from "../runtime/index.ts";
import type { AuditStatus } from "./audit.ts";
import type { EventReason } from "./reasons.ts";

export type RolloutStrategy = "Immediate" | "BlueGreen" | "Canary";

export interface CanaryStep {
  /** Percent of traffic on the new version during this step, 0–100 (by replica ratio, or exact with an HTTPRoute). */
  weight: number;
  /** How long the step holds once its replicas are ready (Go duration, e.g. "30s"); absent = no hold. */
  pause?: string;
}

export interface DecisionSpec {
  versions: { name: string; source: { uri: string; sha256: string } }[];
  activeVersion?: string;
  rollout?: {
    strategy?: RolloutStrategy;
    steps?: CanaryStep[];
    requireValidation?: boolean;
    /** Exact-weight canaries through an HTTPRoute (httproute.ts builds it; the decision only checks it can). */
    trafficRouting?: { gatewayAPI?: unknown };
  };
  failover?: {
    enabled?: boolean;
    fallbackVersion?: string;
    unavailableAfter?: string;
    onValidationBreach?: boolean;
  };
  suspend?: boolean;
  /** Why the model is suspended (no patient data); the annotation medmlops.io/suspended-by says who. */
  suspendReason?: string;
  /** tls: the stable Service speaks HTTPS (status.endpoint's scheme). */
  serving?: { replicas?: number; tls?: unknown };
}

export type VersionPhase = "Pending" | "Loading" | "Ready" | "Failed" | "Retired";

export interface VersionStatus {
  name: string;
  phase: VersionPhase;
  readyReplicas: number;
  /** SHA-256 (hex) the init container verifies before the sidecar starts. */
  digest?: string;
  /** The ValidationPolicy verdict mirrored from the policy (true Passed, false Failed, absent pending). */
  validated?: boolean;
  message?: string;
}

export interface FailoverTransition {
  from: string;
  to: string;
  reason: string;
  at: string;
}

export interface CanaryStatus {
  version: string;
  weight: number;
  step: number;
  since: string;
}

export interface DecisionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  activeVersion?: string;
  lastKnownGoodVersion?: string;
  canary?: CanaryStatus;
  versions?: VersionStatus[];
  failover?: { count: number; lastTransition?: FailoverTransition };
  endpoint?: string;
  /** Audit entries not yet in the monitor's log (audit.ts; only with --monitor-url). */
  audit?: AuditStatus;
}

/** Why a version's pods cannot serve, read from init-container termination (see operator/fetch/). */
export interface VersionFailure {
  /** Stable code: DigestMismatch, FetchFailed, SourceTooLarge, … (from the fetch-model termination message). */
  reason: string;
  message: string;
}

/** What the controller observed about one version's Deployment and pods. Times are epoch milliseconds. */
export interface VersionHealth {
  /** The Deployment exists in the cache. */
  exists: boolean;
  readyReplicas: number;
  /** Pods that exist (any phase) — separates Pending (none yet) from Loading. */
  pods: number;
  /** Since when no pod of this version has been ready (set only while readyReplicas is 0). */
  unavailableSince?: number;
  /** When the most recent of the currently ready pods became ready (all ready since then). */
  readySince?: number;
  crashLooping: boolean;
  failure?: VersionFailure;
}

/** A ValidationPolicy verdict for one version (see docs/medmodel.md, "requireValidation contract"). */
export type Verdict = "Passed" | "Failed";

/** What the model's ValidationPolicies ask of it through their episodes (validation.ts policyRequestsFor). */
export interface PolicyRequests {
  /** Versions that must not serve (an open episode took the Failover action). */
  failover: string[];
  /** A Suspend no person has resumed yet. */
  suspend?: { policy: string; episode: string; reason: string };
}

export interface DecisionOptions {
  /** A serving version counts as healthy (last-known-good material) after being steady this long. */
  minHealthyMs: number;
  /** Replicas kept warm for the failover target while another version serves (0 disables the warm standby). */
  standbyReplicas: number;
  /** Default of spec.failover.unavailableAfter. */
  defaultUnavailableAfterMs: number;
}

export const DEFAULT_OPTIONS: DecisionOptions = {
  minHealthyMs: 30_000,
  standbyReplicas: 1,
  defaultUnavailableAfterMs: 10_000,
};

export interface DecisionInput {
  model: { name: string; namespace: string; generation: number; annotations?: Record<string, string> };
  spec: DecisionSpec;
  previous: DecisionStatus;
  health: Record<string, VersionHealth>;
  verdicts: Record<string, Verdict>;
  /** Failover and Suspend requested by the model's ValidationPolicies; absent = none. */
  policy?: PolicyRequests;
  now: number;
  options?: Partial<DecisionOptions>;
  /**
   * Whether the cluster serves Gateway API HTTPRoutes (discovery at operator start). False while the spec asks
   * for gatewayAPI routing makes the model Degraded (GatewayAPIUnavailable); absent is treated as served.
   */
  gatewayApiServed?: boolean;
}

export interface DecisionEvent {
  type: "Normal" | "Warning";
  reason: EventReason;
  action: string;
  note: string;
}

export interface Decision {
  /** The version the stable Service selects; undefined while a canary splits traffic by replica ratio. */
  servingVersion: string;
  /** True while a canary is in progress: the stable Service selects every version with replicas. */
  splitTraffic: boolean;
  /** Desired replicas of every version in spec.versions. */
  replicas: Record<string, number>;
  status: DecisionStatus;
  events: DecisionEvent[];
  /** Reconcile again after this long (pending canary pause, unavailableAfter, last-known-good timer). */
  requeueAfterMs?: number;
  /** Remove the one-shot `medmlops.io/retry-version` annotation: it was acted on. */
  consumeRetryAnnotation: boolean;
  /** Content of control.json in the model's ConfigMap (the sidecar answers 503 while suspended). */
  control: { suspended: boolean; reason?: string };
}

export const ANNOTATIONS = {
  retryVersion: "medmlops.io/retry-version",
  suspendedBy: "medmlops.io/suspended-by",
} as const;

export const CONDITION = {
  Ready: "Ready",
  Progressing: "Progressing",
  Degraded: "Degraded",
  FailedOver: "FailedOver",
  Suspended: "Suspended",
  /** Whether every governance event is in the audit log (only with --monitor-url; audit.ts). */
  Audited: "Audited",
} as const;
