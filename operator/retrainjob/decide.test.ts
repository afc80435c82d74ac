import { describe, expect, it } from "vitest";
import { type RetrainJob, RetrainJobSchema } from "../../crds/index.ts";
import { type Decision, decide, type Observed } from "./decide.ts";
import type { EvaluationReport } from "../../monitor/datasets/report.ts";

const SHA = (c: string) => c.repeat(64);
const NOW = new Date("2026-12-04T12:00:00Z");

function rj(status: RetrainJob["status"] = undefined, promotion: Record<string, unknown> = {}): RetrainJob {
  return RetrainJobSchema.parse({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: { name: "cxr-v3", namespace: "radiology", generation: 1, uid: "u-1" },
    spec: {
      modelRef: { name: "cxr" },
      baseVersion: "v2",
      candidateVersion: "v3",
      trainer: { image: "trainer:1", timeout: "1h" },
      evaluation: { policyRef: { name: "cxr" } },
      promotion,
    },
    ...(status ? { status } : {}),
  });
}

const dataset = {
  id: "ds-1",
  manifestSha256: SHA("d"),
  cases: 80,
  testCases: 20,
  excludedByConsent: 3,
  sites: ["a", "b"],
};
const frozen = { cases: 80, manifestSha256: SHA("d"), excludedByConsent: 3, sites: ["a", "b"] };
const candidate = { uri: "pvc://models/retrain/radiology/cxr-v3/model.onnx", sha256: SHA("c") };

function report(rows: EvaluationReport["rows"]): EvaluationReport {
  return {
    format: "medmlops.io/evaluation/v1",
    manifestSha256: SHA("d"),
    candidateSha256: SHA("c"),
    baseSha256: SHA("b"),
    confidence: 0.95,
    rows,
  };
}
const est = (value: number, ciLow: number) => ({
  value,
  ciLow,
  ciHigh: Math.min(1, value + (value - ciLow)),
  n: 50,
});
const goodRows = [
  { site: "*", metric: "sensitivity", candidate: est(0.92, 0.86), base: est(0.9, 0.84) },
  { site: "a", metric: "sensitivity", candidate: est(0.91, 0.82), base: est(0.9, 0.8) },
  { site: "b", metric: "sensitivity", candidate: est(0.93, 0.84), base: est(0.92, 0.83) },
];

function observe(over: Partial<Observed>): Observed {
  return {
    now: NOW,
    job: rj(),
    model: { versions: { v1: SHA("a"), v2: SHA("b") } },
    changeControl: {
      allowedModifications: ["Retraining"],
      floors: [{ metric: "sensitivity", min: 0.8 }],
      maxSiteDegradation: 0.02,
      approvalsRequired: 1,
    },
    trainJob: { state: "absent" },
    evalJob: { state: "absent" },
    ...over,
  };
}
const opts = { defaultCandidateUri: candidate.uri };
const run = (o: Partial<Observed>): Decision => decide(observe(o), opts);

describe("RetrainJob phase decisions", () => {
  it.each<[string, Partial<Observed>, string, string, string[]]>([
    ["new job → freeze", {}, "PreparingData", "freeze", []],
    ["monitor down → stays, retries", { dataset: "unavailable" }, "PreparingData", "none", []],
    ["frozen → Training, audit DatasetFrozen", { dataset }, "Training", "createTrainJob", ["DatasetFrozen"]],
    [
      "empty test split → Failed",
      { dataset: { ...dataset, testCases: 0 } },
      "Failed",
      "none",
      ["RetrainFailed"],
    ],
    [
      "monitor refuses → Failed",
      { dataset: { error: "bad window", code: "INVALID_DATASET" } },
      "Failed",
      "none",
      ["RetrainFailed"],
    ],
    [
      "Job absent after freeze → create it",
      { job: rj({ phase: "Training", dataset: frozen }) },
      "Training",
      "createTrainJob",
      [],
    ],
    [
      "Job running → wait",
      { job: rj({ phase: "Training", dataset: frozen }), trainJob: { state: "running" } },
      "Training",
      "none",
      [],
    ],
    [
      "Job past its deadline → Failed TrainerTimeout",
      {
        job: rj({ phase: "Training", dataset: frozen }),
        trainJob: { state: "failed", reason: "DeadlineExceeded" },
      },
      "Failed",
      "none",
      ["RetrainFailed"],
    ],
    [
      "Job succeeded with sha → Evaluating",
      {
        job: rj({ phase: "Training", dataset: frozen }),
        trainJob: { state: "succeeded", terminationMessage: JSON.stringify({ sha256: SHA("c") }) },
      },
      "Evaluating",
      "createEvalJob",
      ["TrainingFinished"],
    ],
    [
      "Job succeeded without sha → Failed NoCandidate",
      {
        job: rj({ phase: "Training", dataset: frozen }),
        trainJob: { state: "succeeded", terminationMessage: "done" },
      },
      "Failed",
      "none",
      ["RetrainFailed"],
    ],
    [
      "evaluating, no report → wait on the Job",
      { job: rj({ phase: "Evaluating", dataset: frozen, candidate }), evalJob: { state: "running" } },
      "Evaluating",
      "none",
      [],
    ],
    [
      "report passes, no approvals → AwaitingApproval",
      { job: rj({ phase: "Evaluating", dataset: frozen, candidate }), report: report(goodRows) },
      "AwaitingApproval",
      "none",
      ["EvaluationResult"],
    ],
  ])("%s", (_name, o, phase, step, audits) => {
    const d = run(o);
    expect(d.phase).toBe(phase);
    expect(d.step.kind).toBe(step);
    expect(d.audit.map((a) => a.action)).toEqual(audits);
  });

  it("a trainer timeout names the timeout in status and a Warning event", () => {
    const d = run({
      job: rj({ phase: "Training", dataset: frozen }),
      trainJob: { state: "failed", reason: "DeadlineExceeded" },
    });
    expect(d.conditions[0]).toMatchObject({ type: "Ready", status: "False", reason: "TrainerTimeout" });
    expect(d.event).toMatchObject({ type: "Warning", reason: "TrainerTimeout" });
    expect(d.status.completedAt).toBe(NOW.toISOString());
  });

  it("rejects a candidate whose lower bound is below a floor", () => {
    const rows = goodRows.map((r) => (r.site === "a" ? { ...r, candidate: est(0.86, 0.78) } : r));
    const d = run({ job: rj({ phase: "Evaluating", dataset: frozen, candidate }), report: report(rows) });
    expect(d.phase).toBe("Rejected");
    expect(d.conditions.find((c) => c.type === "Ready")?.reason).toBe("BelowFloor");
    expect(d.status.evaluation?.find((r) => r.site === "a")?.pass).toBe(false);
    expect(d.audit.map((a) => a.action)).toEqual(["EvaluationResult", "RetrainRejected"]);
  });

  it("rejects a candidate that degrades one site beyond maxSiteDegradation even when the pooled metric improves", () => {
    const rows = [
      { site: "*", metric: "sensitivity", candidate: est(0.95, 0.9), base: est(0.9, 0.84) },
      { site: "a", metric: "sensitivity", candidate: est(0.97, 0.9), base: est(0.9, 0.84) },
      { site: "b", metric: "sensitivity", candidate: est(0.87, 0.81), base: est(0.9, 0.84) },
    ];
    const d = run({ job: rj({ phase: "Evaluating", dataset: frozen, candidate }), report: report(rows) });
    expect(d.phase).toBe("Rejected");
    expect(d.conditions.find((c) => c.type === "Ready")?.reason).toBe("SiteDegradation");
    expect(d.status.message).toContain("site b");
  });

  it("rejects when Retraining is not an allowed modification", () => {
    const o = observe({
      job: rj({ phase: "Evaluating", dataset: frozen, candidate }),
      report: report(goodRows),
    });
    o.changeControl = {
      ...(o.changeControl as NonNullable<Observed["changeControl"]>),
      allowedModifications: ["Recalibration"],
    };
    expect(decide(o, opts).conditions.find((c) => c.type === "Ready")?.reason).toBe("ModificationNotAllowed");
  });

  it("refuses a report for another candidate", () => {
    const r = { ...report(goodRows), candidateSha256: SHA("e") };
    expect(run({ job: rj({ phase: "Evaluating", dataset: frozen, candidate }), report: r }).phase).toBe(
      "Failed",
    );
  });

  const evaluated = goodRows.map((r) => ({
    site: r.site,
    metric: r.metric,
    baseline: r.base.value,
    candidate: r.candidate.value,
    pass: true,
  }));
  const awaiting = (approvals: { approver: string }[], required = 2) => {
    const o = observe({
      job: rj(
        { phase: "AwaitingApproval", dataset: frozen, candidate, evaluation: evaluated },
        {
          approvals: approvals.map((a) => ({ ...a, role: "clinical-lead", at: "2026-12-04T11:00:00Z" })),
        },
      ),
    });
    o.changeControl = {
      ...(o.changeControl as NonNullable<Observed["changeControl"]>),
      approvalsRequired: required,
    };
    return o;
  };

  it("counts approvals once per approver", () => {
    const d = decide(awaiting([{ approver: "dr-a" }, { approver: "dr-a" }]), opts);
    expect(d.phase).toBe("AwaitingApproval");
    expect(d.step.kind).toBe("none");
    expect(d.status.message).toBe("awaiting approval (1/2)");
  });

  it("with enough approvals appends the candidate, and succeeds only once the MedModel shows it", () => {
    const o = awaiting([{ approver: "dr-a" }, { approver: "qa-b" }]);
    const d = decide(o, opts);
    expect(d.phase).toBe("AwaitingApproval");
    expect(d.step).toEqual({ kind: "appendCandidate", candidate });
    expect(d.audit.map((a) => a.action)).toEqual(["Approval"]);
    o.model = { versions: { v1: SHA("a"), v2: SHA("b"), v3: SHA("c") } };
    const done = decide(o, opts);
    expect(done.phase).toBe("Succeeded");
    expect(done.audit.map((a) => a.action)).toEqual(["CandidateAppended"]);
    o.model = { versions: { v2: SHA("b"), v3: SHA("f") } };
    expect(decide(o, opts).conditions[0]?.reason).toBe("VersionConflict");
  });

  it("waits (no failure) while the MedModel or the policy is missing; fails when the base version is unknown", () => {
    expect(run({ model: undefined }).conditions[0]?.reason).toBe("ModelNotFound");
    expect(run({ changeControl: undefined }).conditions[0]?.reason).toBe("PolicyNotFound");
    expect(run({ model: { versions: { v1: SHA("a") } } }).phase).toBe("Failed");
  });

  it("never moves a terminal phase", () => {
    for (const phase of ["Succeeded", "Failed", "Rejected"] as const) {
      const d = run({ job: rj({ phase }), dataset, trainJob: { state: "failed", reason: "x" } });
      expect(d).toMatchObject({ phase, step: { kind: "none" }, audit: [] });
    }
  });
});
