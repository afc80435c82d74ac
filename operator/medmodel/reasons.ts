/**
 * Every reason the MedModel controller writes — condition reasons, the causes a failover records, Event reasons —
 * in one catalogue. The phases take their literals from here (the condition setter only accepts a `Reason`), and
 * reasons.test.ts fails when one of them is missing from docs/medmodel.md.
 */
import type { FetchErrorCode } from "../fetch/errors.ts";

/** Reasons of the conditions (Ready, Progressing, Degraded, FailedOver False, Suspended, Reconciling, Stalled). */
export const REASON = {
  // Ready
  Serving: "Serving",
  Unavailable: "Unavailable",
  Suspended: "Suspended",
  /** Suspended by a ValidationPolicy's Suspend action until a person resumes it. */
  PolicyBreach: "PolicyBreach",
  InvalidSpec: "InvalidSpec",
  /** Refused by the operator's admission re-check (admission.ts); Ready False, Degraded True, Stalled. */
  PolicyRefused: "PolicyRefused",
  // Progressing
  Complete: "Complete",
  ScalingUp: "ScalingUp",
  RolloutInProgress: "RolloutInProgress",
  CanaryInProgress: "CanaryInProgress",
  AwaitingValidation: "AwaitingValidation",
  AwaitingRecovery: "AwaitingRecovery",
  RolloutStalled: "RolloutStalled",
  ValidationFailed: "ValidationFailed",
  FailedOver: "FailedOver",
  // Degraded
  AsExpected: "AsExpected",
  NoHealthyFallback: "NoHealthyFallback",
  ServingUnavailable: "ServingUnavailable",
  VersionFailed: "VersionFailed",
  UnknownActiveVersion: "UnknownActiveVersion",
  GatewayAPIUnavailable: "GatewayAPIUnavailable",
  // Serving TLS by default (issued-tls.ts): Progressing/Reconciling while cert-manager issues the model's
  // certificate; Degraded/Stalled when nothing can issue it. Ready False with either while no pod may serve.
  CertificatePending: "CertificatePending",
  CertificateUnavailable: "CertificateUnavailable",
  // FailedOver (False; True carries the cause, a FailureReason)
  NotFailedOver: "NotFailedOver",
  // Audited (only with --monitor-url): True Recorded, False AuditPending
  Recorded: "Recorded",
  AuditPending: "AuditPending",
  // Reconciling and Stalled both False (kstatus Current)
  Reconciled: "Reconciled",
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

/**
 * Why a version cannot serve: the cause a failover records (status.failover.lastTransition.reason, the reason of
 * FailedOver=True) and the prefix of a Failed phase's message. fetch-model's codes come from its termination
 * message; another init container's text shows as FetchFailed.
 */
export const FAILURE_REASON = {
  InvalidSource: "InvalidSource",
  SourceNotFound: "SourceNotFound",
  FetchFailed: "FetchFailed",
  FetchTimeout: "FetchTimeout",
  SourceTooLarge: "SourceTooLarge",
  DigestMismatch: "DigestMismatch",
  WriteFailed: "WriteFailed",
  CrashLoopBackOff: "CrashLoopBackOff",
  Unavailable: "Unavailable",
  ValidationBreach: "ValidationBreach",
} as const satisfies Record<string, string> & Record<FetchErrorCode, FetchErrorCode>;
export type FailureReason = (typeof FAILURE_REASON)[keyof typeof FAILURE_REASON];

/** Reasons of the Events the decision records. */
export const EVENT_REASON = {
  Promoted: "Promoted",
  CanaryStarted: "CanaryStarted",
  CanaryStep: "CanaryStep",
  RolloutCancelled: "RolloutCancelled",
  LastKnownGood: "LastKnownGood",
  Failover: "Failover",
  FailoverImpossible: "FailoverImpossible",
  FailBack: "FailBack",
  FailoverCleared: "FailoverCleared",
  VersionFailed: "VersionFailed",
  Suspended: "Suspended",
  Resumed: "Resumed",
  Switched: "Switched",
  GatewayAPIUnavailable: "GatewayAPIUnavailable",
  PolicyRefused: "PolicyRefused",
} as const;
export type EventReason = (typeof EVENT_REASON)[keyof typeof EVENT_REASON];
