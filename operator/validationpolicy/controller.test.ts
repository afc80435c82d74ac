import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MonitorError, MonitorUnavailableError } from "../../monitor/client.ts";
import { MedModelKind, ValidationPolicyKind } from "../kinds.ts";
import { findCondition } from "../runtime/index.ts";
import { fakeDeps } from "../runtime/testing/fake-deps.ts";
import { type MonitorPort, validationPolicyController } from "./controller.ts";
import { breached, healthy } from "./test-support.ts";
import type { EvaluateResult, PolicyStatus } from "./types.ts";

const key = { namespace: "radiology", name: "cxr-policy" };
const T0 = new Date("2026-12-04T12:00:00Z");

class FakeMonitor implements MonitorPort {
  calls: string[] = [];
  references: { version: string; body: Record<string, unknown> }[] = [];
  audit: string[] = [];
  result: EvaluateResult = healthy();
  down = false;
  async putPolicy(_ns: string, name: string) {
    if (this.down) throw new MonitorUnavailableError("monitor unreachable (PUT /v1/policies): ECONNREFUSED");
    this.calls.push(`put ${name}`);
  }
  async putReference(_ns: string, _m: string, version: string, body: Record<string, unknown>) {
    this.references.push({ version, body });
    return {};
  }
  async evaluatePolicy(_ns: string, name: string, body: { versions: string[] }) {
    if (this.down) throw new MonitorUnavailableError("monitor unreachable");
    this.calls.push(`evaluate ${name} ${body.versions.join(",")}`);
    return structuredClone(this.result);
  }
  auditDown = false;
  auditRefuses = false;
  async appendAudit(e: { action: string }) {
    if (this.auditDown) throw new MonitorUnavailableError("audit log unavailable");
    if (this.auditRefuses) throw new MonitorError(400, "INVALID_AUDIT_ENTRY", "refused");
    this.audit.push(e.action);
    return {};
  }
}

function setup(policySpec: Record<string, unknown> = {}, versions: Record<string, unknown>[] = []) {
  const t = fakeDeps({ now: T0 });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "MedModel",
    metadata: { namespace: "radiology", name: "cxr", generation: 1, annotations: {} },
    spec: {
      versions: versions.length
        ? versions
        : [
            { name: "v1", source: { uri: "https://x/v1.onnx", sha256: "a".repeat(64) } },
            { name: "v2", source: { uri: "https://x/v2.onnx", sha256: "b".repeat(64) } },
          ],
    },
    status: { activeVersion: "v2" },
  });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { namespace: "radiology", name: "cxr-policy", uid: "u1", generation: 1, resourceVersion: "1" },
    spec: {
      modelRef: { name: "cxr" },
      metrics: [
        { name: "sensitivity", min: 0.85 },
        { name: "specificity", min: 0.7 },
      ],
      schedule: { interval: "10m" },
      ...policySpec,
    },
  });
  const monitor = new FakeMonitor();
  const make = () => validationPolicyController(t.deps, { monitor, firstRecords: 200 });
  return { t, monitor, make };
}

const lastStatus = (t: ReturnType<typeof fakeDeps>) => t.client.statuses.at(-1)?.["status"] as PolicyStatus;

describe("ValidationPolicy controller", () => {
  it("registers the policy, hands references, evaluates, writes status and requeues for the interval", async () => {
    const { t, monitor, make } = setup();
    const c = make();
    const r = await c.reconciler.reconcile(key, t.context());
    expect(monitor.calls).toEqual(["put cxr-policy", "evaluate cxr-policy v1,v2"]);
    expect(monitor.references).toEqual([
      { version: "v1", body: { firstRecords: 200 } },
      { version: "v2", body: { firstRecords: 200 } },
    ]);
    const s = lastStatus(t);
    expect(s.results?.map((x) => x.version)).toEqual(["v1", "v2"]);
    expect(findCondition(s.conditions, "Ready")?.message).toContain(
      "frozen from its first 200 served records",
    );
    expect(r?.requeueAfterMs).toBe(600_000);
    // not due again: no monitor call, no write
    t.client.observeStatus(ValidationPolicyKind, key);
    t.clock.now = new Date(T0.getTime() + 60_000);
    await c.reconciler.reconcile(key, t.context());
    expect(monitor.calls).toHaveLength(2);
    expect(t.client.statuses).toHaveLength(1);
  });

  it("a verified referenceProfile from a ConfigMap is handed over; a wrong digest is refused and said", async () => {
    const profile = JSON.stringify({ format: "medmlops.io/reference-profile/v1", n: 10, features: {} });
    const good = createHash("sha256").update(profile).digest("hex");
    const { t, monitor, make } = setup({}, [
      {
        name: "v1",
        source: { uri: "https://x/v1.onnx", sha256: "a".repeat(64) },
        referenceProfile: { uri: "configmap://profiles/v1.json", sha256: good },
      },
      {
        name: "v2",
        source: { uri: "https://x/v2.onnx", sha256: "b".repeat(64) },
        referenceProfile: { uri: "configmap://profiles/v1.json", sha256: "c".repeat(64) },
      },
    ]);
    t.cache.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { namespace: "radiology", name: "profiles" },
      data: { "v1.json": profile },
    });
    await make().reconciler.reconcile(key, t.context());
    expect(monitor.references).toEqual([{ version: "v1", body: JSON.parse(profile) }]);
    const ready = findCondition(lastStatus(t).conditions, "Ready")?.message ?? "";
    expect(ready).toContain("v1: referenceProfile verified (sha256)");
    expect(ready).toContain("v2: referenceProfile not used");
    expect(ready).toContain("does not match");
  });

  it("Retrain: exactly one RetrainJob per episode, across re-evaluations and a restart", async () => {
    const { t, monitor, make } = setup({
      actions: {
        onBreach: ["Alert", "Retrain"],
        retrainTemplate: { trainer: { image: "registry.example/trainer:1" } },
      },
    });
    monitor.result = breached();
    await make().reconciler.reconcile(key, t.context());
    const jobs = () => t.client.applied.filter((o) => o.kind === "RetrainJob");
    expect(jobs()).toHaveLength(1);
    const job = jobs()[0] as {
      metadata: { name: string };
      spec: { baseVersion: string; candidateVersion: string };
    };
    expect(job.spec.baseVersion).toBe("v2");
    expect(monitor.audit).toEqual(["VerdictChanged", "ActionTaken", "ActionTaken"]);
    expect(t.events.map((e) => e.reason)).toEqual(["PerformanceBreach", "RetrainRequested"]);
    // re-evaluation an interval later
    t.client.observeStatus(ValidationPolicyKind, key);
    t.clock.now = new Date(T0.getTime() + 600_000);
    await make().reconciler.reconcile(key, t.context()); // a new controller = an operator restart
    t.client.observeStatus(ValidationPolicyKind, key);
    t.clock.now = new Date(T0.getTime() + 1_200_000);
    const c = make();
    await c.reconciler.reconcile(key, t.context());
    await c.reconciler.reconcile(key, t.context());
    expect(new Set(jobs().map((j) => j.metadata?.name))).toEqual(new Set([job.metadata.name]));
    expect(t.events.map((e) => e.reason)).toEqual(["PerformanceBreach", "RetrainRequested"]);
    expect(monitor.audit).toEqual(["VerdictChanged", "ActionTaken", "ActionTaken"]);
  });

  it("an audit outage withholds the action (no mark, no event, no RetrainJob) and the next reconcile takes it once", async () => {
    const { t, monitor, make } = setup({
      actions: {
        onBreach: ["Failover", "Retrain"],
        retrainTemplate: { trainer: { image: "registry.example/trainer:1" } },
      },
    });
    monitor.result = breached();
    monitor.auditDown = true;
    const c = make();
    const r1 = await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(ValidationPolicyKind, key);
    const s1 = lastStatus(t);
    expect(s1.episodes).toHaveLength(1);
    expect(s1.episodes?.[0]?.actions).toBeUndefined();
    expect(s1.lastAction).toBeUndefined();
    expect(t.client.applied.filter((o) => o.kind === "RetrainJob")).toEqual([]);
    expect(t.events.map((e) => e.reason)).toEqual(["PerformanceBreach"]);
    expect(r1?.requeueAfterMs).toBe(30_000);

    monitor.auditDown = false;
    t.clock.now = new Date(T0.getTime() + 30_000);
    await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(ValidationPolicyKind, key);
    const s2 = lastStatus(t);
    expect(s2.episodes?.[0]?.actions).toEqual(["Failover", "Retrain"]);
    expect(s2.lastAction).toMatchObject({ type: "Retrain" });
    expect(monitor.audit).toEqual(["ActionTaken", "ActionTaken"]);
    expect(t.client.applied.filter((o) => o.kind === "RetrainJob")).toHaveLength(1);
    expect(t.events.map((e) => e.reason)).toEqual([
      "PerformanceBreach",
      "FailoverRequested",
      "RetrainRequested",
    ]);

    t.clock.now = new Date(T0.getTime() + 60_000);
    await c.reconciler.reconcile(key, t.context());
    expect(monitor.audit).toEqual(["ActionTaken", "ActionTaken"]);
    expect(t.events).toHaveLength(3);
  });

  it("an entry refused for good (4xx) never holds a Failover back: reported, with a Warning AuditEntryRefused", async () => {
    const { t, monitor, make } = setup({ actions: { onBreach: ["Failover"] } });
    monitor.result = breached();
    monitor.auditRefuses = true;
    await make().reconciler.reconcile(key, t.context());
    expect(lastStatus(t).episodes?.[0]?.actions).toEqual(["Failover"]);
    expect(t.events.map((e) => e.reason)).toEqual([
      "PerformanceBreach",
      "FailoverRequested",
      "AuditEntryRefused",
      "AuditEntryRefused",
    ]);
  });

  it("monitor down: Ready False MonitorUnavailable, one Warning, verdicts untouched, retry in 30 s", async () => {
    const { t, monitor, make } = setup({ actions: { onBreach: ["Suspend"] } });
    monitor.result = breached();
    const c = make();
    await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(ValidationPolicyKind, key);
    const before = lastStatus(t);
    monitor.down = true;
    t.clock.now = new Date(T0.getTime() + 600_000);
    const r = await c.reconciler.reconcile(key, t.context());
    const after = lastStatus(t);
    expect(findCondition(after.conditions, "Ready")).toMatchObject({
      status: "False",
      reason: "MonitorUnavailable",
    });
    expect(after.results).toEqual(before.results);
    expect(after.episodes).toEqual(before.episodes);
    expect(t.events.filter((e) => e.reason === "MonitorUnavailable")).toHaveLength(1);
    expect(r?.requeueAfterMs).toBe(30_000);
  });

  it("an invalid spec after an outage: Stalled=True and Reconciling=False (kstatus reads Failed, not InProgress)", async () => {
    const { t, monitor, make } = setup();
    const c = make();
    monitor.down = true;
    await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(ValidationPolicyKind, key);
    expect(findCondition(lastStatus(t).conditions, "Reconciling")?.status).toBe("True");
    const policy = t.cache.get(ValidationPolicyKind, key);
    t.cache.put({
      ...policy,
      kind: "ValidationPolicy",
      metadata: { ...policy?.metadata, generation: 2 },
      spec: { modelRef: { name: "cxr" }, metrics: "sensitivity" },
    });
    t.clock.now = new Date(T0.getTime() + 60_000);
    await c.reconciler.reconcile(key, t.context());
    const s = lastStatus(t);
    expect(findCondition(s.conditions, "Ready")).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(findCondition(s.conditions, "Stalled")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(findCondition(s.conditions, "Reconciling")).toMatchObject({
      status: "False",
      observedGeneration: 2,
    });
    expect(s.observedGeneration).toBe(2);
  });

  it("the MedModel changing (a new version) maps to its policies and evaluates at once", async () => {
    const { t, monitor, make } = setup();
    const c = make();
    await c.reconciler.reconcile(key, t.context());
    t.client.observeStatus(ValidationPolicyKind, key);
    const model = t.cache.get(MedModelKind, { namespace: "radiology", name: "cxr" });
    const watch = c.watches?.find((w) => w.gvk.kind === "MedModel");
    expect(watch?.map(model ?? {})).toEqual([key]);
    t.cache.put({
      ...model,
      kind: "MedModel",
      spec: {
        versions: [
          ...((model?.["spec"] as { versions?: unknown[] } | undefined)?.versions ?? []),
          { name: "v3", source: { uri: "https://x/v3.onnx", sha256: "d".repeat(64) } },
        ],
      },
    });
    t.clock.now = new Date(T0.getTime() + 60_000);
    await c.reconciler.reconcile(key, t.context());
    expect(monitor.calls.at(-1)).toBe("evaluate cxr-policy v1,v2,v3");
  });

  it("a deleted policy is forgotten and unregistered", async () => {
    const { t, make } = setup();
    const c = make();
    await c.reconciler.reconcile(key, t.context());
    t.cache.remove(ValidationPolicyKind, key);
    await expect(c.reconciler.reconcile(key, t.context())).resolves.toBeUndefined();
  });
});
