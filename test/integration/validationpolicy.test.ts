// The ValidationPolicy loop on the real control plane with a real monitor (PGlite, loopback): annotated records
// below the sensitivity floor → Breached=True, one Warning PerformanceBreach → the MedModel fails over to its last
// known good version with reason ValidationBreach (Failover action); the monitor killed → MonitorUnavailable and
// nothing else changes; a shifted input distribution → DriftDetected with drift rows and one Warning event.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { ValidationPolicyKind } from "../../operator/kinds.ts";
import { Manager } from "../../operator/manager.ts";
import { medModelControllerWith } from "../../operator/medmodel/index.ts";
import type { KubeObject } from "../../operator/runtime/index.ts";
import { validationPolicyController } from "../../operator/validationpolicy/controller.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import { argoHealth } from "../support/argocd-health.ts";
import {
  condition,
  FAST,
  getModel,
  harness,
  type Harness,
  installCrds,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

type VP = KubeObject & {
  status?: {
    conditions?: { type: string; status: string; reason: string }[];
    results?: { version: string; metrics?: { metric: string; pass: boolean; n: number }[] }[];
    episodes?: { key: string; type: string; version: string; actions?: string[]; endedAt?: string }[];
  };
};

let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let manager: Manager;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("validation");
  h = harness(ns.name);
  monitor = await startMonitor();
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [
      medModelControllerWith({ decision: FAST }),
      (deps) => validationPolicyController(deps, { monitor: monitor.client, firstRecords: 10 }),
    ],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `vp-test-${process.pid}`,
    },
  });
  await manager.start();
});

afterAll(async () => {
  await manager?.stop();
  await monitor?.stop().catch(() => {});
  await ns?.delete();
});

const policy = async () => h.user.get<VP>(ValidationPolicyKind, { namespace: ns.name, name: "chest-policy" });
const vpCondition = (p: VP | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);

async function policyEvents(reason: string) {
  const res = await h.rest.request<{
    items: { reason?: string; regarding?: { kind?: string; name?: string } }[];
  }>("GET", `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
  return res.items.filter(
    (e) =>
      e.regarding?.kind === "ValidationPolicy" && e.regarding?.name === "chest-policy" && e.reason === reason,
  );
}

describe("ValidationPolicy on the real control plane", () => {
  it("a breach fails the model over to its last known good version, once", async () => {
    const blueGreen = { rollout: { strategy: "BlueGreen", requireValidation: false } };
    await h.user.apply(manifest("chest", ns.name, { activeVersion: "v1", ...blueGreen }));
    await waitFor(
      async () => (await getModel(h, ns.name, "chest"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("chest", ns.name, { activeVersion: "v2", ...blueGreen }));
    await waitFor(async () => (await getModel(h, ns.name, "chest"))?.status?.activeVersion === "v2", 30_000);

    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "chest-policy", namespace: ns.name },
      spec: {
        modelRef: { name: "chest" },
        sampling: { rate: 1 },
        metrics: [{ name: "sensitivity", min: 0.8, minSamples: 20 }],
        schedule: { interval: "3s" },
        actions: { onBreach: ["Alert", "Failover"] },
      },
    });
    await waitFor(async () => vpCondition(await policy(), "Ready")?.status === "True", 30_000);

    // 40 positive cases on v2, the model calls 10 of them positive: sensitivity 0.25, far below 0.8.
    const now = new Date().toISOString();
    const cases = Array.from({ length: 40 }, (_, i) => `case-${i}`);
    const rec = await monitor.client.postRecords(
      cases.map((caseId, i) => ({
        time: now,
        namespace: ns.name,
        model: "chest",
        version: "v2",
        caseId,
        inputs: { "image:mean": 0.5 },
        outputs: { "score:finding": i < 10 ? 0.9 : 0.1 },
        decision: { label: "finding", score: i < 10 ? 0.9 : 0.1, positive: i < 10 },
      })),
    );
    expect(rec.accepted).toBe(40);
    const ann = await monitor.client.postAnnotations(
      cases.map((caseId) => ({
        namespace: ns.name,
        model: "chest",
        caseId,
        positive: true,
        time: now,
        source: "reader" as const,
      })),
    );
    expect(ann.accepted).toBe(40);

    const breached = await waitFor(async () => {
      const p = await policy();
      return vpCondition(p, "Breached")?.status === "True" ? p : undefined;
    }, 60_000);
    // The chart's Argo CD health check on the status the controller really wrote (charts/medmlops/argocd/).
    expect(argoHealth("ValidationPolicy", breached)).toMatchObject({ status: "Degraded" });
    expect(argoHealth("ValidationPolicy", breached).message).toMatch(/^Breached: /);
    const v2 = breached.status?.results?.find((r) => r.version === "v2");
    expect(v2?.metrics).toEqual([expect.objectContaining({ metric: "sensitivity", pass: false, n: 40 })]);
    expect(breached.status?.episodes).toEqual([
      expect.objectContaining({ type: "Breach", version: "v2", actions: ["Alert", "Failover"] }),
    ]);

    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.status?.activeVersion === "v1" ? x : undefined;
    }, 30_000);
    expect(m.status?.failover?.lastTransition).toMatchObject({
      from: "v2",
      to: "v1",
      reason: "ValidationBreach",
    });
    expect(condition(m, "FailedOver")?.status).toBe("True");

    // more evaluations pass (interval 3 s): still one episode, one event, one failover
    await new Promise((r) => setTimeout(r, 7_000));
    const later = await policy();
    expect(later?.status?.episodes).toHaveLength(1);
    expect(await policyEvents("PerformanceBreach")).toHaveLength(1);
    expect((await getModel(h, ns.name, "chest"))?.status?.failover?.count).toBe(m.status?.failover?.count);
  });

  it("a shifted input distribution: DriftDetected with drift rows and one Warning event", async () => {
    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "chest-drift", namespace: ns.name },
      spec: {
        modelRef: { name: "chest" },
        metrics: [{ name: "specificity", min: 0.5, minSamples: 1000 }],
        drift: { checks: [{ source: "input", feature: "image:mean", test: "psi", threshold: 0.2 }] },
        schedule: { interval: "3s" },
      },
    });
    const rec = (from: number, n: number, shift: number) =>
      Array.from({ length: n }, (_, i) => ({
        time: new Date().toISOString(),
        namespace: ns.name,
        model: "chest",
        version: "v1",
        caseId: `drift-${from + i}`,
        inputs: { "image:mean": shift + ((i * 37) % 100) / 500 },
        outputs: { "score:finding": 0.2 },
      }));
    // v1's first 10 served records become its reference (no referenceProfile)
    expect((await monitor.client.postRecords(rec(0, 20, 0.4))).accepted).toBe(20);
    const frozen = await waitFor(async () => {
      const p = await h.user.get<VP>(ValidationPolicyKind, { namespace: ns.name, name: "chest-drift" });
      const msg = p?.status?.conditions?.find((c) => c.type === "Ready") as { message?: string } | undefined;
      return msg?.message?.includes("v1: frozen from its first 10 served records") ? p : undefined;
    }, 30_000);
    expect(vpCondition(frozen, "DriftDetected")?.status).toBe("False");
    // Too few cases with ground truth (minSamples 1000), no drift: Progressing, as charts/medmlops/argocd/ says.
    expect(vpCondition(frozen, "InsufficientData")?.status).toBe("True");
    expect(argoHealth("ValidationPolicy", frozen).status).toBe("Progressing");
    expect((await monitor.client.postRecords(rec(100, 400, 1.5))).accepted).toBe(400);
    const drifted = await waitFor(async () => {
      const p = await h.user.get<VP>(ValidationPolicyKind, { namespace: ns.name, name: "chest-drift" });
      return vpCondition(p, "DriftDetected")?.status === "True" ? p : undefined;
    }, 30_000);
    expect(argoHealth("ValidationPolicy", drifted).status).toBe("Degraded");
    expect(argoHealth("ValidationPolicy", drifted).message).toMatch(/^DriftDetected: /);
    const rows = (drifted.status as { drift?: { version?: string; feature: string; drifted: boolean }[] })
      .drift;
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: "v1", feature: "image:mean", drifted: true }),
      ]),
    );
    await new Promise((r) => setTimeout(r, 4_000));
    const res = await h.rest.request<{ items: { reason?: string; regarding?: { name?: string } }[] }>(
      "GET",
      `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
    );
    expect(
      res.items.filter((e) => e.regarding?.name === "chest-drift" && e.reason === "DriftDetected"),
    ).toHaveLength(1);
  });

  it("the monitor gone: Ready=False MonitorUnavailable, verdicts and the model unchanged", async () => {
    const before = await policy();
    await monitor.stop();
    const p = await waitFor(async () => {
      const x = await policy();
      return vpCondition(x, "Ready")?.reason === "MonitorUnavailable" ? x : undefined;
    }, 30_000);
    expect(vpCondition(p, "Ready")?.status).toBe("False");
    // Monitor down: the breach it last saw still stands (Degraded); without a breach Ready=False is Degraded too.
    expect(argoHealth("ValidationPolicy", p).status).toBe("Degraded");
    expect(p.status?.results).toEqual(before?.status?.results);
    expect(p.status?.episodes).toEqual(before?.status?.episodes);
    expect(await policyEvents("MonitorUnavailable")).toHaveLength(1);
    expect((await getModel(h, ns.name, "chest"))?.status?.activeVersion).toBe("v1");
  });
});
