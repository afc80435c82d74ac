/**
 * Plain data in and out of the ValidationPolicy decisions (decide.ts). The controller gathers the inputs from the
 * cache and the monitor, the decision functions are pure (the clock is an input), and the controller applies
 * what they return: one status write, events, RetrainJobs to create.
 */
import type { Episode, ValidationPolicySpec, ValidationPolicyStatus } from "../../crds/validationpolicy.ts";
import type { Condition } from "../runtime/index.ts";

export type { Episode };
export type PolicyStatus = ValidationPolicyStatus;

/** One metric row as the monitor's evaluate returns it (nulls where the window holds too few cases). */
export interface EvaluatedMetric {
  metric: string;
  subgroup?: string | null;
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  pass?: boolean | null;
}

export interface EvaluatedDrift {
  version: string;
  feature: string;
  test: string;
  statistic: number | null;
  pValue?: number | null;
  drifted: boolean;
}

/** `POST /v1/policies/{ns}/{name}/evaluate` → this (issue 12), as the controller hands it to decide(). */
export interface EvaluateResult {
  results: { version: string; metrics: EvaluatedMetric[] }[];
  drift: EvaluatedDrift[];
  insufficientData: boolean;
}

/** What the controller learnt from the monitor this reconcile. */
export type MonitorOutcome =
  | { kind: "evaluated"; result: EvaluateResult }
  /** Not evaluated this time (not due): previous results stand. */
  | { kind: "skipped" }
  /** The monitor could not be reached or failed (5xx, timeout, bad answer). No action follows. */
  | { kind: "unavailable"; message: string };

/** The MedModel as the policy decisions need it. */
export interface ModelView {
  name: string;
  /** spec.versions[].name, in order. */
  versions: string[];
  /** Versions that serve clinicians now: status.activeVersion and a canary's version. */
  serving: string[];
  annotations: Record<string, string>;
}

/** One person's resume of a model suspended by a policy (annotations on the MedModel, see resume.ts). */
export interface ResumeRequest {
  episode: string;
  by: string;
  reason: string;
}

export interface DecideInput {
  policy: {
    namespace: string;
    name: string;
    generation: number;
    spec: ValidationPolicySpec;
    annotations?: Record<string, string>;
  };
  previous: PolicyStatus;
  /** Undefined when spec.modelRef names no MedModel in the namespace. */
  model: ModelView | undefined;
  monitor: MonitorOutcome;
  /** Reference profile notes per version (fetched and verified, or frozen from first records), for messages. */
  references?: Record<string, string>;
  now: Date;
}

export interface PolicyEvent {
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
  /** The audit gate (below) this event reports; withheld with it. */
  gate?: string;
}

export interface RetrainRequest {
  /** Deterministic RetrainJob name (retrain.ts): a second create of the same episode is AlreadyExists. */
  name: string;
  episode: string;
  version: string;
}

/** An audit entry (C4) the controller appends through the monitor client. No PHI, no pseudonyms. */
export type AuditAction = "VerdictChanged" | "ActionTaken" | "Resume";
export interface AuditRequest {
  /** Idempotency key (deterministic per governance event). */
  key: string;
  action: AuditAction;
  reason: string;
  details: Record<string, string | number | boolean>;
  /**
   * Set on entries that record an action (ActionTaken, Resume): `<episode key>/<action>`. The action is reported
   * done (episode mark, lastAction, its event, a RetrainJob) only once this entry is accepted (audit-gate.ts).
   */
  gate?: { key: string; lastAction?: NonNullable<PolicyStatus["lastAction"]> };
}

export interface Decision {
  status: PolicyStatus;
  events: PolicyEvent[];
  retrain: RetrainRequest[];
  audit: AuditRequest[];
  /** Reconcile again after this long: the next evaluation, or a retry after a monitor outage. */
  requeueAfterMs: number;
}

export const CONDITION = {
  Ready: "Ready",
  Breached: "Breached",
  DriftDetected: "DriftDetected",
  InsufficientData: "InsufficientData",
  Reconciling: "Reconciling",
  Stalled: "Stalled",
} as const;

export const ANNOTATIONS = {
  /** On the MedModel: the key of the episode whose Suspend a person lifts. */
  resumeEpisode: "medmlops.io/resume-episode",
  /** Who resumed (staff identity, not a patient). */
  resumedBy: "medmlops.io/resumed-by",
  /** Why it is safe to serve again. */
  resumeReason: "medmlops.io/resume-reason",
} as const;

export type { Condition };
