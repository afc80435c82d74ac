import { describe, expect, it } from "vitest";
import { MonitorUnavailableError } from "../../monitor/client.ts";
import type { EvaluationReport } from "../../monitor/datasets/report.ts";
import { fakeDeps } from "../runtime/testing/fake-deps.ts";
import { MedModelKind, RetrainJobKind } from "../kinds.ts";
import { retrainJobController } from "./controller.ts";
import { evalJobName, monitorCaConfigMapName, trainJobName } from "./job.ts";

const SHA = (c: string) => c.repeat(64);
const key = { namespace: "radiology", name: "cxr-v3" };

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function setup(freeze: () => Promise<unknown> = async () => summary, o: { https?: boolean } = {}) {
  const t = fakeDeps({
    now: new Date("2026-12-04T12:00:00Z"),
    config: { sidecarImage: "medmlops:1", ...(o.https ? { monitorCa: () => CA } : {}) },
  });
  const audit: { action: string; details: Record<string, unknown> }[] = [];
  let report: EvaluationReport | undefined;
  const monitor = {
    freezeDataset: freeze as never,
    getEvaluation: async () => report,
    appendAudit: async (e: { action: string; details?: Record<string, unknown> }) => {
      audit.push({ action: e.action, details: e.details ?? {} });
      return { seq: audit.length, hash: "h" };
    },
  };
  const c = retrainJobController(t.deps, {
    monitor,
    monitorUrl: o.https ? "https://monitor.med.svc:8090" : "http://monitor:8090",
    image: "medmlops:1",
    outputClaim: "models",
  });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "MedModel",
    metadata: { name: "cxr", namespace: "radiology" },
    spec: {
      versions: [{ name: "v2", source: { uri: "pvc://models/cxr/v2.onnx", sha256: SHA("b") } }],
      activeVersion: "v2",
    },
  });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { name: "cxr", namespace: "radiology" },
    spec: { modelRef: { name: "cxr" }, metrics: [{ name: "sensitivity", min: 0.8 }] },
  });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: {
      name: "cxr-v3",
      namespace: "radiology",
      uid: "uid-9",
      generation: 1,
      creationTimestamp: "2026-12-04T11:00:00Z",
    },
    spec: {
      modelRef: { name: "cxr" },
      baseVersion: "v2",
      candidateVersion: "v3",
      trainer: { image: "trainer:1", timeout: "1h" },
      evaluation: { policyRef: { name: "cxr" } },
      promotion: { approvals: [{ approver: "dr-a", role: "clinical-lead", at: "2026-12-04T11:30:00Z" }] },
    },
  });
  const step = async () => {
    const r = await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(RetrainJobKind, key);
    return r;
  };
  const status = () =>
    (t.cache.get(RetrainJobKind, key) as { status?: Record<string, unknown> }).status ?? {};
  return { t, audit, step, status, setReport: (r: EvaluationReport) => (report = r) };
}

const summary = {
  id: "uid-9",
  namespace: "radiology",
  model: "cxr",
  job: "cxr-v3",
  manifestSha256: SHA("d"),
  cases: 40,
  testCases: 10,
  excludedByConsent: 2,
  historical: 3,
  sites: ["a"],
  createdAt: "2026-12-04T12:00:00Z",
};
const est = (value: number, ciLow: number) => ({ value, ciLow, ciHigh: value, n: 40 });

function completeJob(t: ReturnType<typeof setup>["t"], name: string, container: string, message?: string) {
  t.cache.put({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "radiology" },
    status: { conditions: [{ type: "Complete", status: "True" }] },
  });
  t.cache.put({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-x1`, namespace: "radiology", labels: { "job-name": name } },
    status: {
      containerStatuses: [
        { name: container, state: { terminated: { exitCode: 0, ...(message ? { message } : {}) } } },
      ],
    },
  });
}

describe("RetrainJob controller", () => {
  it("runs every phase to Succeeded, appending the candidate under its own field manager and never activeVersion", async () => {
    const s = setup();
    await s.step();
    expect(s.status()).toMatchObject({
      phase: "Training",
      dataset: { cases: 40, excludedByConsent: 2, manifestSha256: SHA("d") },
    });
    const train = s.t.client.applied.find((o) => o.kind === "Job");
    expect(train?.metadata?.name).toBe(trainJobName("cxr-v3"));
    expect(s.audit.map((a) => a.action)).toEqual(["DatasetFrozen"]);

    completeJob(s.t, trainJobName("cxr-v3"), "trainer", JSON.stringify({ sha256: SHA("c") }));
    await s.step();
    expect(s.status()).toMatchObject({
      phase: "Evaluating",
      candidate: { sha256: SHA("c"), uri: "pvc://models/retrain/radiology/cxr-v3/model.onnx" },
    });
    expect(s.t.client.applied.filter((o) => o.kind === "Job").map((o) => o.metadata?.name)).toContain(
      evalJobName("cxr-v3"),
    );

    completeJob(s.t, evalJobName("cxr-v3"), "evaluate");
    s.setReport({
      format: "medmlops.io/evaluation/v1",
      manifestSha256: SHA("d"),
      candidateSha256: SHA("c"),
      baseSha256: SHA("b"),
      confidence: 0.95,
      rows: [{ site: "*", metric: "sensitivity", candidate: est(0.9, 0.85), base: est(0.88, 0.83) }],
    });
    await s.step();
    const append = s.t.client.applied.find((o) => o.kind === "MedModel");
    expect(append).toMatchObject({ spec: { versions: [{ name: "v3", source: { sha256: SHA("c") } }] } });
    expect((append?.spec as Record<string, unknown> | undefined)?.activeVersion).toBeUndefined();
    expect(append?.spec).toBeDefined();
    expect(s.status().phase).toBe("AwaitingApproval");

    s.t.cache.put({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "MedModel",
      metadata: { name: "cxr", namespace: "radiology" },
      spec: {
        versions: [
          { name: "v2", source: { uri: "pvc://models/cxr/v2.onnx", sha256: SHA("b") } },
          {
            name: "v3",
            source: { uri: "pvc://models/retrain/radiology/cxr-v3/model.onnx", sha256: SHA("c") },
          },
        ],
        activeVersion: "v2",
      },
    });
    await s.step();
    expect(s.status().phase).toBe("Succeeded");
    expect(s.audit.map((a) => a.action)).toEqual([
      "DatasetFrozen",
      "TrainingFinished",
      "EvaluationResult",
      "Approval",
      "CandidateAppended",
    ]);
    expect(s.t.events.map((e) => e.reason)).toContain("CandidateAppended");
    expect(MedModelKind.kind).toBe("MedModel");
  });

  it("an https:// monitor: applies the CA ConfigMap the Jobs mount before each Job; none for http", async () => {
    const s = setup(undefined, { https: true });
    await s.step();
    const kinds = s.t.client.applied.map((o) => `${o.kind}/${o.metadata?.name}`);
    const cm = kinds.indexOf(`ConfigMap/${monitorCaConfigMapName("cxr-v3")}`);
    expect(cm).toBeGreaterThanOrEqual(0);
    expect(cm).toBeLessThan(kinds.indexOf(`Job/${trainJobName("cxr-v3")}`));
    const applied = s.t.client.applied.find((o) => o.kind === "ConfigMap") as {
      data?: Record<string, string>;
    };
    expect(applied.data).toEqual({ "ca.crt": CA });
    const plain = setup();
    await plain.step();
    expect(plain.t.client.applied.map((o) => o.kind)).not.toContain("ConfigMap");
  });

  it("a trainer past its deadline fails the run with TrainerTimeout", async () => {
    const s = setup();
    await s.step();
    s.t.cache.put({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: trainJobName("cxr-v3"), namespace: "radiology" },
      status: { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded" }] },
    });
    await s.step();
    expect(s.status()).toMatchObject({ phase: "Failed" });
    expect(s.t.events.at(-1)).toMatchObject({ type: "Warning", reason: "TrainerTimeout" });
    expect(s.audit.at(-1)?.action).toBe("RetrainFailed");
  });

  it("the monitor down at freeze: stays PreparingData with MonitorUnavailable and retries", async () => {
    const s = setup(async () => {
      throw new MonitorUnavailableError("down");
    });
    const r = await s.step();
    expect(s.status().phase).toBe("PreparingData");
    expect(r?.requeueAfterMs).toBeGreaterThan(0);
    expect(s.t.client.applied.filter((o) => o.kind === "Job")).toHaveLength(0);
  });
});
