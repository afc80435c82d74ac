/**
 * The RetrainJob's phase, as a pure decision from observed state and an injected clock:
 *
 *   Pending → PreparingData → Training → Evaluating → AwaitingApproval → Succeeded
 *                    ↘ Failed       ↘ Failed    ↘ Rejected | Failed
 *
 * Each call looks at what is observed (the MedModel, the policy's change control, the frozen dataset, the
 * training and evaluation Jobs, the report, whether the candidate is already a version) and says which phase the
 * run is in, what the controller should do next (one step at a time, each idempotent), what to write to status
 * and which audit entries to append *before* the status reports the step done. Terminal phases never move.
 */
import type { Condition, RetrainJob, RetrainPhase } from "../../crds/index.ts";
import { type ChangeControl, type GateResult, gate } from "./gate.ts";
import type { EvaluationReport } from "../../monitor/datasets/report.ts";

export type JobState =
  | { state: "absent" }
  | { state: "running"; startedAt?: string }
  | { state: "succeeded"; terminationMessage?: string }
  | { state: "failed"; reason: string; message?: string };

export interface FrozenDataset {
  id: string;
  manifestSha256: string;
  cases: number;
  testCases: number;
  excludedByConsent: number;
  sites: string[];
}

export interface Observed {
  now: Date;
  job: RetrainJob;
  /** The MedModel named by modelRef: which versions it has (name → sha256). undefined: not found. */
  model?: { versions: Record<string, string> };
  /** undefined when evaluation.policyRef names a policy that does not exist (yet). */
  changeControl?: ChangeControl & { approvalsRequired: number };
  /** The dataset as the monitor froze it for this job; "unavailable" when the monitor cannot be reached. */
  dataset?: FrozenDataset | "unavailable" | { error: string; code: string };
  trainJob: JobState;
  evalJob: JobState;
  report?: EvaluationReport;
}

export type Step =
  | { kind: "freeze" }
  | { kind: "createTrainJob" }
  | { kind: "createEvalJob"; candidate: { uri: string; sha256: string } }
  | { kind: "appendCandidate"; candidate: { uri: string; sha256: string } }
  | { kind: "none" };

export interface AuditNote {
  action:
    | "DatasetFrozen"
    | "TrainingStarted"
    | "TrainingFinished"
    | "EvaluationResult"
    | "Approval"
    | "CandidateAppended"
    | "RetrainRejected"
    | "RetrainFailed";
  reason: string;
  details: Record<string, unknown>;
}

export interface Decision {
  phase: RetrainPhase;
  step: Step;
  /** Status fields to set (merged over the current status by the controller). */
  status: Partial<NonNullable<RetrainJob["status"]>>;
  conditions: Omit<Condition, "lastTransitionTime">[];
  audit: AuditNote[];
  event?: { type: "Normal" | "Warning"; reason: string; message: string };
  requeueAfterMs?: number;
}

export const TERMINAL: ReadonlySet<RetrainPhase> = new Set(["Succeeded", "Failed", "Rejected"]);

/** The trainer's result: `{"sha256": "<hex>", "uri"?: "pvc://…"}` as its termination message (docs/retraining.md). */
export function parseTrainerResult(
  message: string | undefined,
  defaultUri: string,
): { uri: string; sha256: string } | undefined {
  if (!message) return undefined;
  try {
    const v = JSON.parse(message) as { sha256?: unknown; uri?: unknown };
    if (typeof v.sha256 !== "string" || !/^[a-f0-9]{64}$/.test(v.sha256)) return undefined;
    const uri = typeof v.uri === "string" && v.uri.length <= 2048 ? v.uri : defaultUri;
    return { uri, sha256: v.sha256 };
  } catch {
    return undefined;
  }
}

/** Approvals counted once per approver; the count a candidate needs (Manual: at least one). */
export function approvalState(job: RetrainJob, required: number): { have: number; need: number } {
  const approvers = new Set((job.spec.promotion.approvals ?? []).map((a) => a.approver));
  const need = job.spec.promotion.mode === "Manual" ? Math.max(1, required) : required;
  return { have: approvers.size, need };
}

function cond(
  type: string,
  ok: boolean | "Unknown",
  reason: string,
  message: string,
  generation: number,
): Omit<Condition, "lastTransitionTime"> {
  return {
    type,
    status: ok === "Unknown" ? "Unknown" : ok ? "True" : "False",
    reason,
    message,
    observedGeneration: generation,
  };
}

export interface DecideOptions {
  /** Where a trainer's model lands when it reports no uri: pvc://<claim>/<path>. */
  defaultCandidateUri: string;
  /** Backoff while waiting on the monitor or a missing object. */
  retryMs?: number;
}

export function decide(o: Observed, opts: DecideOptions): Decision {
  const job = o.job;
  const gen = job.metadata.generation ?? 0;
  const st = job.status ?? {};
  const phase: RetrainPhase = st.phase ?? "Pending";
  const retry = opts.retryMs ?? 15_000;
  const base: Decision = { phase, step: { kind: "none" }, status: {}, conditions: [], audit: [] };
  if (TERMINAL.has(phase)) return base;

  const fail = (reason: string, message: string, kind: "Failed" | "Rejected" = "Failed"): Decision => ({
    phase: kind,
    step: { kind: "none" },
    status: { completedAt: o.now.toISOString(), message },
    conditions: [cond("Ready", false, reason, message, gen)],
    audit: [
      {
        action: kind === "Failed" ? "RetrainFailed" : "RetrainRejected",
        reason: message,
        details: { reason, candidateVersion: job.spec.candidateVersion },
      },
    ],
    event: { type: "Warning", reason, message },
  });
  const wait = (p: RetrainPhase, reason: string, message: string): Decision => ({
    phase: p,
    step: { kind: "none" },
    status: { message },
    conditions: [cond("Ready", false, reason, message, gen)],
    audit: [],
    requeueAfterMs: retry,
  });

  // Preconditions hold in every non-terminal phase.
  if (!o.model) return wait(phase, "ModelNotFound", `MedModel ${job.spec.modelRef.name} not found`);
  const compareTo = job.spec.evaluation.compareTo ?? job.spec.baseVersion;
  for (const v of new Set([job.spec.baseVersion, compareTo])) {
    if (!(v in o.model.versions)) return fail("BaseVersionNotFound", `version ${v} is not in the MedModel`);
  }
  if (!o.changeControl) {
    return wait(phase, "PolicyNotFound", `ValidationPolicy ${job.spec.evaluation.policyRef?.name} not found`);
  }
  const startedAt = st.startedAt ?? o.now.toISOString();

  // 1. Data: freeze once; the manifest digest and counts go to status.
  if (!st.dataset) {
    if (o.dataset === undefined) {
      return {
        phase: "PreparingData",
        step: { kind: "freeze" },
        status: { startedAt, message: "freezing the dataset" },
        conditions: [
          cond("DataPrepared", false, "Freezing", "freezing the dataset through the monitor", gen),
        ],
        audit: [],
      };
    }
    if (o.dataset === "unavailable") {
      return {
        ...wait("PreparingData", "MonitorUnavailable", "the monitor cannot be reached; retrying"),
        status: { startedAt, message: "the monitor cannot be reached; retrying" },
      };
    }
    if ("error" in o.dataset)
      return fail(`DatasetRefused`, `the monitor refused the dataset: ${o.dataset.error}`);
    const d = o.dataset;
    if (d.cases === 0 || d.testCases === 0) {
      return fail("DatasetEmpty", `the dataset has ${d.cases} training and ${d.testCases} test cases`);
    }
    return {
      phase: "Training",
      step: { kind: "createTrainJob" },
      status: {
        startedAt,
        dataset: {
          cases: d.cases,
          manifestSha256: d.manifestSha256,
          excludedByConsent: d.excludedByConsent,
          sites: d.sites,
        },
        message: "dataset frozen; training",
      },
      conditions: [
        cond(
          "DataPrepared",
          true,
          "Frozen",
          `${d.cases} cases, ${d.excludedByConsent} excluded by consent`,
          gen,
        ),
      ],
      audit: [
        {
          action: "DatasetFrozen",
          reason: "dataset frozen for retraining",
          details: {
            manifestSha256: d.manifestSha256,
            cases: d.cases,
            testCases: d.testCases,
            excludedByConsent: d.excludedByConsent,
            sites: d.sites,
            purpose: job.spec.dataset.purpose,
          },
        },
      ],
    };
  }

  // 2. Training.
  if (!st.candidate) {
    const t = o.trainJob;
    if (t.state === "absent" || t.state === "running") {
      return {
        phase: "Training",
        step: t.state === "absent" ? { kind: "createTrainJob" } : { kind: "none" },
        status: {},
        conditions: [cond("Trained", false, "Training", "the trainer is running", gen)],
        audit: [],
      };
    }
    if (t.state === "failed") {
      return t.reason === "DeadlineExceeded"
        ? fail("TrainerTimeout", `training exceeded trainer.timeout (${job.spec.trainer.timeout})`)
        : fail("TrainerFailed", `the training Job failed (${t.reason})`);
    }
    const result = parseTrainerResult(t.terminationMessage, opts.defaultCandidateUri);
    if (!result) {
      return fail(
        "NoCandidate",
        "the trainer finished without reporting the model's sha256 (docs/retraining.md)",
      );
    }
    return {
      phase: "Evaluating",
      step: { kind: "createEvalJob", candidate: result },
      status: { candidate: result, message: "trained; evaluating on the sequestered split" },
      conditions: [cond("Trained", true, "Trained", `candidate sha256 ${result.sha256.slice(0, 12)}…`, gen)],
      audit: [{ action: "TrainingFinished", reason: "trainer produced a candidate", details: { ...result } }],
    };
  }
  const candidate = st.candidate;

  // 3. Evaluation and the gate.
  let gated: GateResult | undefined;
  if (!st.evaluation) {
    const e = o.evalJob;
    if (e.state === "failed") return fail("EvaluationFailed", `the evaluation failed (${e.reason})`);
    if (!o.report) {
      return {
        phase: "Evaluating",
        step: e.state === "absent" ? { kind: "createEvalJob", candidate } : { kind: "none" },
        status: {},
        conditions: [cond("Evaluated", false, "Evaluating", "evaluating candidate and base", gen)],
        audit: [],
        requeueAfterMs: e.state === "succeeded" ? retry : undefined,
      };
    }
    if (
      o.report.candidateSha256 !== candidate.sha256 ||
      o.report.manifestSha256 !== st.dataset.manifestSha256
    ) {
      return fail("ReportMismatch", "the evaluation report is for another candidate or dataset");
    }
    gated = gate(o.report, o.changeControl, job.spec.evaluation.perSite);
    const evalAudit: AuditNote = {
      action: "EvaluationResult",
      reason: gated.pass ? "candidate passed the change-control gate" : gated.message,
      details: {
        pass: gated.pass,
        reason: gated.reason ?? "Passed",
        rows: gated.rows,
        candidateSha256: candidate.sha256,
      },
    };
    if (!gated.pass) {
      const r = fail(gated.reason ?? "Rejected", gated.message, "Rejected");
      return {
        ...r,
        status: { ...r.status, evaluation: gated.rows },
        conditions: [
          cond("Evaluated", false, gated.reason ?? "Rejected", gated.message, gen),
          ...r.conditions,
        ],
        audit: [evalAudit, ...r.audit],
      };
    }
    const next = approve(o, candidate, gen, startedAt);
    return {
      ...next,
      status: { ...next.status, evaluation: gated.rows },
      conditions: [cond("Evaluated", true, "Passed", gated.message, gen), ...next.conditions],
      audit: [evalAudit, ...next.audit],
    };
  }
  return approve(o, candidate, gen, startedAt);
}

/** 4–5. Approvals, then the candidate appended as a version; Succeeded only once the MedModel shows it. */
function approve(
  o: Observed,
  candidate: { uri: string; sha256: string },
  gen: number,
  _startedAt: string,
): Decision {
  const job = o.job;
  const { have, need } = approvalState(job, o.changeControl?.approvalsRequired ?? 1);
  if (have < need) {
    return {
      phase: "AwaitingApproval",
      step: { kind: "none" },
      status: { message: `awaiting approval (${have}/${need})` },
      conditions: [cond("Approved", false, "AwaitingApproval", `${have} of ${need} approvals recorded`, gen)],
      audit: [],
    };
  }
  const approvedNote: AuditNote = {
    action: "Approval",
    reason: `${have} of ${need} approvals recorded`,
    details: {
      approvers: (job.spec.promotion.approvals ?? []).map((a) => ({
        approver: a.approver,
        role: a.role,
        at: a.at,
      })),
    },
  };
  const present = o.model?.versions[job.spec.candidateVersion];
  if (present === candidate.sha256) {
    return {
      phase: "Succeeded",
      step: { kind: "none" },
      status: {
        completedAt: o.now.toISOString(),
        message: `candidate appended as version ${job.spec.candidateVersion}`,
      },
      conditions: [
        cond("Approved", true, "Approved", `${have} of ${need} approvals`, gen),
        cond("Ready", true, "Succeeded", `version ${job.spec.candidateVersion} added (not active)`, gen),
      ],
      audit: [
        {
          action: "CandidateAppended",
          reason: "candidate appended to the MedModel's versions; activeVersion unchanged",
          details: { version: job.spec.candidateVersion, ...candidate },
        },
      ],
      event: {
        type: "Normal",
        reason: "CandidateAppended",
        message: `version ${job.spec.candidateVersion} added to ${job.spec.modelRef.name}`,
      },
    };
  }
  if (present !== undefined) {
    return {
      phase: "Failed",
      step: { kind: "none" },
      status: {
        completedAt: o.now.toISOString(),
        message: `version ${job.spec.candidateVersion} already exists with another sha256`,
      },
      conditions: [
        cond(
          "Ready",
          false,
          "VersionConflict",
          `version ${job.spec.candidateVersion} already exists with another sha256`,
          gen,
        ),
      ],
      audit: [
        {
          action: "RetrainFailed",
          reason: "candidate version name taken",
          details: { version: job.spec.candidateVersion },
        },
      ],
      event: {
        type: "Warning",
        reason: "VersionConflict",
        message: `version ${job.spec.candidateVersion} already exists`,
      },
    };
  }
  return {
    phase: "AwaitingApproval",
    step: { kind: "appendCandidate", candidate },
    status: { message: "approved; appending the candidate version" },
    conditions: [cond("Approved", true, "Approved", `${have} of ${need} approvals`, gen)],
    audit: [approvedNote],
  };
}
