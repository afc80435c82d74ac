// The MedModel controller on the real control plane (kube-apiserver, controller-manager, scheduler, kwok):
// children with owner references and labels, BlueGreen switch, canary steps, failover to the last known good
// version with status and Event, no flapping on recovery, fail-back on request, the stop button, restart of the
// operator mid-rollout, and garbage collection on delete. The operator runs in-process (Manager).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MedModelKind } from "../../operator/medmodel/index.ts";
import { type GVK, type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import {
  allowNewPods,
  blockNewPods,
  condition,
  deletePodsOf,
  eventsFor,
  getModel,
  type Harness,
  harness,
  installCrds,
  listNames,
  manifest,
  patchPodStatus,
  stableSelector,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("medmodel");
  h = harness(ns.name);
  await h.start();
});

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
});

async function waitForEvents(model: string, reasons: string[]) {
  await waitFor(async () => {
    const seen = new Set((await eventsFor(h, ns.name, model)).map((e) => e.reason));
    return reasons.every((r) => seen.has(r));
  }, 15_000);
}

const blueGreen = (activeVersion: string, extra: Record<string, unknown> = {}) => ({
  activeVersion,
  rollout: { strategy: "BlueGreen", requireValidation: false },
  ...extra,
});

describe("MedModel controller", () => {
  it("creates per-version Deployments and Services, the stable Service and the ConfigMap, labelled and owned", async () => {
    await h.user.apply(manifest("chest", ns.name, blueGreen("v1")));
    const model = await waitFor(async () => {
      const m = await getModel(h, ns.name, "chest");
      return condition(m, "Ready")?.status === "True" ? m : undefined;
    }, 30_000);
    expect(model.status?.activeVersion).toBe("v1");
    expect(model.status?.observedGeneration).toBe(model.metadata?.generation);

    const uid = model.metadata?.uid;
    const expectOwned = (o: KubeObject | undefined, version?: string) => {
      expect(o, "child exists").toBeDefined();
      expect(o?.metadata?.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "MedModel",
          name: "chest",
          uid,
          controller: true,
          blockOwnerDeletion: true,
        }),
      ]);
      expect(o?.metadata?.labels).toMatchObject({
        "app.kubernetes.io/name": "medmlops-model",
        "app.kubernetes.io/instance": "chest",
        "app.kubernetes.io/managed-by": "medmlops",
        "medmlops.io/model": "chest",
        ...(version ? { "medmlops.io/version": version } : {}),
      });
    };
    const get = (gvk: GVK, name: string) => h.user.get(gvk, { namespace: ns.name, name });
    expectOwned(await get(Kinds.Deployment, "chest-v1"), "v1");
    expectOwned(await get(Kinds.Deployment, "chest-v2"), "v2");
    expectOwned(await get(Kinds.Service, "chest-v1"), "v1");
    expectOwned(await get(Kinds.Service, "chest-v2"), "v2");
    expectOwned(await get(Kinds.Service, "chest"));
    expectOwned(await get(Kinds.ConfigMap, "chest-signature"));
    expect(await stableSelector(h, ns.name, "chest")).toEqual({
      "medmlops.io/model": "chest",
      "medmlops.io/version": "v1",
    });
    const pods = await listNames(h, Kinds.Pod, ns.name, "chest");
    expect(pods.filter((p) => p.startsWith("chest-v1-"))).toHaveLength(1);
  });

  it("watches only what it manages: a child stripped of its managed-by label is applied again", async () => {
    // The children's informers select app.kubernetes.io/managed-by=medmlops: to the operator, a child losing the
    // label is a deleted child, which the next reconcile re-applies (label included).
    const key = { namespace: ns.name, name: "chest-v1" };
    await h.user.mergePatch(Kinds.Service, key, {
      metadata: { labels: { "app.kubernetes.io/managed-by": null } },
    });
    await waitFor(
      async () =>
        (await h.user.get(Kinds.Service, key))?.metadata?.labels?.["app.kubernetes.io/managed-by"] ===
        "medmlops",
      15_000,
    );
  });

  it("records the last known good version and switches blue/green when activeVersion changes", async () => {
    await waitFor(
      async () => (await getModel(h, ns.name, "chest"))?.status?.lastKnownGoodVersion === "v1",
      20_000,
    );
    await h.user.apply(manifest("chest", ns.name, blueGreen("v2")));
    await waitFor(
      async () => (await stableSelector(h, ns.name, "chest"))?.["medmlops.io/version"] === "v2",
      30_000,
    );
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.status?.activeVersion === "v2" && condition(x, "Progressing")?.status === "False"
        ? x
        : undefined;
    }, 20_000);
    expect(m.status?.lastKnownGoodVersion).toBe("v1");
    await waitForEvents("chest", ["Promoted"]);
    // v1 stays as a warm standby of one replica.
    const d1 = await h.user.get<KubeObject & { spec?: { replicas?: number } }>(Kinds.Deployment, {
      namespace: ns.name,
      name: "chest-v1",
    });
    expect(d1?.spec?.replicas).toBe(1);
  });

  it("fails over to the last known good version when the serving pods are gone, and records it", async () => {
    await blockNewPods(h, ns.name);
    const started = Date.now();
    await deletePodsOf(h, ns.name, "chest", "v2");
    await waitFor(
      async () => (await stableSelector(h, ns.name, "chest"))?.["medmlops.io/version"] === "v1",
      15_000,
      50,
    );
    const elapsed = Date.now() - started;
    // unavailableAfter is 1 s; the rest is reaction time.
    expect(elapsed).toBeLessThan(5000);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return condition(x, "FailedOver")?.status === "True" ? x : undefined;
    }, 10_000);
    expect(m.status?.activeVersion).toBe("v1");
    expect(m.status?.failover).toMatchObject({
      count: 1,
      lastTransition: { from: "v2", to: "v1", reason: "Unavailable" },
    });
    const failover = await waitFor(async () =>
      (await eventsFor(h, ns.name, "chest")).find((e) => e.reason === "Failover"),
    );
    expect(failover.type).toBe("Warning");
    expect(failover.note).toContain("now serving v1");
  });

  it("does not flap back when the failed version recovers by itself", async () => {
    await allowNewPods(h, ns.name);
    await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return (x?.status?.versions?.find((v) => v.name === "v2")?.readyReplicas ?? 0) >= 1;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await stableSelector(h, ns.name, "chest"))?.["medmlops.io/version"]).toBe("v1");
    const m = await getModel(h, ns.name, "chest");
    expect(condition(m, "FailedOver")?.status).toBe("True");
    expect(m?.status?.failover?.count).toBe(1);
  });

  it("returns to the desired version on the one-shot retry annotation, and removes the annotation", async () => {
    await h.user.mergePatch(
      MedModelKind,
      { namespace: ns.name, name: "chest" },
      {
        metadata: { annotations: { "medmlops.io/retry-version": "v2" } },
      },
    );
    await waitFor(
      async () => (await stableSelector(h, ns.name, "chest"))?.["medmlops.io/version"] === "v2",
      20_000,
    );
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.metadata?.annotations?.["medmlops.io/retry-version"] === undefined ? x : undefined;
    }, 10_000);
    // The annotation goes only after the fail-back is in status.
    expect(condition(m, "FailedOver")?.status).toBe("False");
    await waitForEvents("chest", ["FailBack"]);
  });

  it("stops inference with the stop button: condition, control file, Event naming who and why", async () => {
    await h.user.apply(
      manifest("chest", ns.name, blueGreen("v2", { suspend: true, suspendReason: "vendor recall" })),
    );
    await h.user.mergePatch(
      MedModelKind,
      { namespace: ns.name, name: "chest" },
      {
        metadata: { annotations: { "medmlops.io/suspended-by": "dr-lee" } },
      },
    );
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return condition(x, "Suspended")?.status === "True" ? x : undefined;
    }, 20_000);
    expect(condition(m, "Ready")).toMatchObject({ status: "False", reason: "Suspended" });
    const cm = await waitFor(async () => {
      const c = await h.user.get<KubeObject & { data?: Record<string, string> }>(Kinds.ConfigMap, {
        namespace: ns.name,
        name: "chest-signature",
      });
      return c?.data?.["control.json"]?.includes('"suspended":true') ? c : undefined;
    }, 10_000);
    expect(JSON.parse(cm.data?.["control.json"] ?? "{}").reason).toContain("vendor recall");
    const ev = await waitFor(async () =>
      (await eventsFor(h, ns.name, "chest")).find((e) => e.reason === "Suspended"),
    );
    expect(ev.note).toContain("vendor recall");

    await h.user.apply(manifest("chest", ns.name, blueGreen("v2", { suspend: false })));
    await waitFor(
      async () => condition(await getModel(h, ns.name, "chest"), "Suspended")?.status === "False",
      20_000,
    );
    await waitFor(async () => (await eventsFor(h, ns.name, "chest")).some((e) => e.reason === "Resumed"));
  });

  it("steps a canary through its weights, splitting traffic by replica ratio, then promotes", async () => {
    const canary = (activeVersion: string) => ({
      activeVersion,
      serving: { replicas: 2 },
      rollout: {
        strategy: "Canary",
        requireValidation: false,
        steps: [{ weight: 50, pause: "2s" }, { weight: 100 }],
      },
    });
    await h.user.apply(manifest("canary", ns.name, canary("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "canary"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("canary", ns.name, canary("v2")));
    const during = await waitFor(async () => {
      const x = await getModel(h, ns.name, "canary");
      return x?.status?.canary?.weight === 50 ? x : undefined;
    }, 20_000);
    expect(during.status?.canary).toMatchObject({ version: "v2", step: 0 });
    expect(await stableSelector(h, ns.name, "canary")).toEqual({ "medmlops.io/model": "canary" });
    await waitFor(
      async () => (await stableSelector(h, ns.name, "canary"))?.["medmlops.io/version"] === "v2",
      20_000,
    );
    // Children are applied before status is written: wait for the status to say so too.
    const after = await waitFor(async () => {
      const x = await getModel(h, ns.name, "canary");
      return x?.status?.activeVersion === "v2" ? x : undefined;
    }, 10_000);
    expect(after.status?.canary).toBeUndefined();
    await waitForEvents("canary", ["CanaryStarted", "CanaryStep", "Promoted"]);
  });

  it("gives a 2-replica version a PodDisruptionBudget and spread pods, and prunes the budget at 1 replica", async () => {
    const spec = (replicas: number) => blueGreen("v1", { serving: { replicas } });
    await h.user.apply(manifest("spread", ns.name, spec(2)));
    const key = { namespace: ns.name, name: "spread-v1" };
    type Pdb = KubeObject & { spec?: Record<string, unknown> };
    const pdb = await waitFor(() => h.user.get<Pdb>(Kinds.PodDisruptionBudget, key), 30_000);
    expect(pdb.spec).toMatchObject({
      maxUnavailable: 1,
      selector: { matchLabels: { "medmlops.io/model": "spread", "medmlops.io/version": "v1" } },
    });
    expect(pdb.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "MedModel", controller: true });
    // The standby v2 (0 or 1 replica) gets none.
    expect(await h.user.get(Kinds.PodDisruptionBudget, { ...key, name: "spread-v2" })).toBeUndefined();
    type Dep = KubeObject & { spec?: { template?: { spec?: { topologySpreadConstraints?: unknown[] } } } };
    const dep = await h.user.get<Dep>(Kinds.Deployment, key);
    expect(dep?.spec?.template?.spec?.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" }),
    ]);

    await h.user.apply(manifest("spread", ns.name, spec(1)));
    await waitFor(
      async () => ((await h.user.get(Kinds.PodDisruptionBudget, key)) === undefined ? true : undefined),
      30_000,
    );
  });

  it("converges after the operator is killed mid-rollout and restarted, without duplicates", async () => {
    const slow = (activeVersion: string) => ({
      activeVersion,
      serving: { replicas: 2 },
      rollout: {
        strategy: "Canary",
        requireValidation: false,
        steps: [{ weight: 50, pause: "3s" }, { weight: 100 }],
      },
    });
    await h.user.apply(manifest("restart", ns.name, slow("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "restart"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("restart", ns.name, slow("v2")));
    await waitFor(async () => (await getModel(h, ns.name, "restart"))?.status?.canary?.step === 0, 20_000);
    await h.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await h.start();
    await waitFor(
      async () => (await stableSelector(h, ns.name, "restart"))?.["medmlops.io/version"] === "v2",
      30_000,
    );
    await waitFor(async () => {
      const pods = await listNames(h, Kinds.Pod, ns.name, "restart");
      return pods.filter((p) => p.startsWith("restart-v2-")).length === 2;
    }, 30_000);
    expect((await listNames(h, Kinds.Deployment, ns.name, "restart")).sort()).toEqual([
      "restart-v1",
      "restart-v2",
    ]);
    expect((await listNames(h, Kinds.Service, ns.name, "restart")).sort()).toEqual([
      "restart",
      "restart-v1",
      "restart-v2",
    ]);
    await waitForEvents("restart", ["Promoted"]);
    const promoted = (await eventsFor(h, ns.name, "restart")).filter((e) => e.reason === "Promoted");
    expect(promoted).toHaveLength(1);
  });

  it("with requireValidation, promotes only after the ValidationPolicy reports a Passed verdict", async () => {
    const gated = (activeVersion: string) => ({
      activeVersion,
      rollout: { strategy: "BlueGreen", requireValidation: true },
    });
    await h.user.apply(manifest("gated", ns.name, gated("v1")));
    await waitFor(async () => (await getModel(h, ns.name, "gated"))?.status?.activeVersion === "v1", 20_000);
    await h.user.apply(manifest("gated", ns.name, gated("v2")));
    const waiting = await waitFor(async () => {
      const x = await getModel(h, ns.name, "gated");
      return condition(x, "Progressing")?.reason === "AwaitingValidation" ? x : undefined;
    }, 20_000);
    expect(waiting.status?.activeVersion).toBe("v1");

    // The ValidationPolicy controller's side of the contract: results in the policy's own status.
    const policy = {
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "gated", namespace: ns.name },
      spec: { modelRef: { name: "gated" }, metrics: [{ name: "sensitivity", min: 0.8 }] },
    };
    await h.user.apply(policy);
    const verdict = (pass: boolean) =>
      h.user.applyStatus({
        ...policy,
        status: {
          results: [
            {
              version: "v2",
              metrics: [{ metric: "sensitivity", value: 0.9, ciLow: 0.85, ciHigh: 0.95, n: 120, pass }],
            },
          ],
        },
      });
    await verdict(false);
    await waitFor(
      async () =>
        condition(await getModel(h, ns.name, "gated"), "Progressing")?.reason === "ValidationFailed",
      20_000,
    );
    expect((await getModel(h, ns.name, "gated"))?.status?.activeVersion).toBe("v1");
    await verdict(true);
    await waitFor(
      async () => (await stableSelector(h, ns.name, "gated"))?.["medmlops.io/version"] === "v2",
      20_000,
    );
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "gated");
      return x?.status?.activeVersion === "v2" ? x : undefined;
    }, 10_000);
    expect(m.status?.versions?.find((v) => v.name === "v2")).toMatchObject({ validated: true });
  });

  it("fails over at once on a crash-looping sidecar, without waiting for unavailableAfter", async () => {
    const spec = (activeVersion: string) => ({
      activeVersion,
      rollout: { strategy: "BlueGreen", requireValidation: false },
      failover: { unavailableAfter: "60s" },
    });
    await h.user.apply(manifest("crash", ns.name, spec("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "crash"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("crash", ns.name, spec("v2")));
    await waitFor(
      async () => (await stableSelector(h, ns.name, "crash"))?.["medmlops.io/version"] === "v2",
      30_000,
    );
    const started = Date.now();
    await patchPodStatus(h, ns.name, "crash", "v2", "CrashLoopBackOff");
    await waitFor(
      async () => (await stableSelector(h, ns.name, "crash"))?.["medmlops.io/version"] === "v1",
      10_000,
      50,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "crash");
      return x?.status?.failover?.count === 1 ? x : undefined;
    }, 10_000);
    expect(m.status?.failover?.lastTransition).toMatchObject({
      from: "v2",
      to: "v1",
      reason: "CrashLoopBackOff",
    });
    expect(m.status?.versions?.find((v) => v.name === "v2")?.phase).toBe("Failed");
  });

  it("shows a digest mismatch from fetch-model as phase Failed and keeps the old version serving", async () => {
    // requireValidation without a policy holds v2 as a ready preview, so its pod status can be rewritten.
    const spec = (activeVersion: string) => ({
      activeVersion,
      rollout: { strategy: "BlueGreen", requireValidation: true },
    });
    await h.user.apply(manifest("digest", ns.name, spec("v1")));
    await waitFor(async () => (await getModel(h, ns.name, "digest"))?.status?.activeVersion === "v1", 30_000);
    await h.user.apply(manifest("digest", ns.name, spec("v2")));
    await waitFor(async () => {
      const x = await getModel(h, ns.name, "digest");
      return condition(x, "Progressing")?.reason === "AwaitingValidation";
    }, 20_000);
    await patchPodStatus(h, ns.name, "digest", "v2", {
      initReason: "DigestMismatch",
      message: "sha256 differs",
    });
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "digest");
      return x?.status?.versions?.find((v) => v.name === "v2")?.phase === "Failed" ? x : undefined;
    }, 15_000);
    const v2 = m.status?.versions?.find((v) => v.name === "v2") as { message?: string } | undefined;
    expect(v2?.message).toContain("DigestMismatch");
    expect(m.status?.activeVersion).toBe("v1");
    expect(condition(m, "Progressing")?.reason).toBe("RolloutStalled");
    expect(m.status?.failover?.count ?? 0).toBe(0);
    await waitForEvents("digest", ["VersionFailed"]);
  });

  it("removes the children of a deleted model by garbage collection", async () => {
    await h.user.delete(MedModelKind, { namespace: ns.name, name: "canary" });
    await waitFor(async () => {
      const left = [
        ...(await listNames(h, Kinds.Deployment, ns.name, "canary")),
        ...(await listNames(h, Kinds.Service, ns.name, "canary")),
      ];
      return left.length === 0;
    }, 30_000);
    expect(
      await h.user.get(Kinds.ConfigMap, { namespace: ns.name, name: "canary-signature" }),
    ).toBeUndefined();
  });
});
