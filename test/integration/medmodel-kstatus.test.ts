// kstatus (sigs.k8s.io/cli-utils/pkg/kstatus — what kubectl-style waiters, Flux and many GitOps tools compute) reads
// every MedModel state correctly: the real library, built from test/cluster/kstatus/, reads MedModels the real
// controller wrote on the real API server. Mid-canary InProgress; settled Current; a failover hold, the only
// version failing its digest, and an invalid spec Failed — never Current.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import { kstatusChecker, kstatusOf } from "../cluster/kstatus.ts";
import {
  blockNewPods,
  condition,
  deletePodsOf,
  getModel,
  type Harness,
  harness,
  installCrds,
  type MM,
  manifest,
  patchPodStatus,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;

beforeAll(async () => {
  await kstatusChecker(); // built on demand (Go module cache; the Go proxy once)
  await installCrds();
  ns = await freshNamespace("mm-kstatus");
  h = harness(ns.name);
  await h.start();
}, 600_000);

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
});

/** Waits until kstatus reads `want` for the model, and returns the model it read. */
async function kstatusReads(name: string, want: string, timeoutMs = 30_000) {
  let last = "";
  try {
    return await waitFor(async () => {
      const m = await getModel(h, ns.name, name);
      if (!m) return undefined;
      const [r] = await kstatusOf([m]);
      last = `${r?.status}: ${r?.message}`;
      return r?.status === want ? { model: m, message: r.message } : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`kstatus never read ${want} for ${name}; last: ${last} (${String(err)})`);
  }
}

const blueGreen = (activeVersion: string, extra: Record<string, unknown> = {}) => ({
  activeVersion,
  rollout: { strategy: "BlueGreen", requireValidation: false },
  ...extra,
});

describe("kstatus reads MedModels", () => {
  it("settled: Current, with Ready True and Reconciling/Stalled False", async () => {
    await h.user.apply(manifest("settled", ns.name, blueGreen("v1")));
    // Before the first status write kstatus reads Current too (its rule for an object without status or
    // conditions; docs/medmodel.md): wait for the controller's status first.
    await waitFor(
      async () => condition(await getModel(h, ns.name, "settled"), "Ready")?.status === "True",
      30_000,
    );
    const { model } = await kstatusReads("settled", "Current");
    expect(condition(model, "Ready")?.status).toBe("True");
    expect(condition(model, "Reconciling")?.status).toBe("False");
    expect(condition(model, "Stalled")?.status).toBe("False");
    expect(model.status?.observedGeneration).toBe(model.metadata?.generation);
  });

  it("mid-canary: InProgress, then Current once promoted", async () => {
    const canary = (activeVersion: string) => ({
      activeVersion,
      serving: { replicas: 2 },
      rollout: {
        strategy: "Canary",
        requireValidation: false,
        steps: [{ weight: 50, pause: "4s" }, { weight: 100 }],
      },
    });
    await h.user.apply(manifest("canary", ns.name, canary("v1")));
    await kstatusReads("canary", "Current");
    await waitFor(
      async () => (await getModel(h, ns.name, "canary"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("canary", ns.name, canary("v2")));
    const during = await kstatusReads("canary", "InProgress", 20_000);
    // InProgress because of the condition, not only because the new generation was not yet observed.
    const mid = await waitFor(async () => {
      const m = await getModel(h, ns.name, "canary");
      return m?.status?.canary && m.status.observedGeneration === m.metadata?.generation ? m : undefined;
    }, 20_000);
    expect((await kstatusOf([mid]))[0]?.status).toBe("InProgress");
    expect(condition(mid, "Reconciling")).toMatchObject({ status: "True", reason: "CanaryInProgress" });
    expect(during.model).toBeDefined();
    const { model } = await kstatusReads("canary", "Current", 40_000);
    expect(model.status?.activeVersion).toBe("v2");
  });

  it("an invalid spec: Failed (Stalled InvalidSpec), never Current", async () => {
    // Child names "<model>-<version>" longer than 63 characters: the API server accepts it, the controller cannot.
    const name = "a".repeat(62);
    await h.user.apply(manifest(name, ns.name, blueGreen("v1")));
    const { model, message } = await kstatusReads(name, "Failed");
    expect(condition(model, "Stalled")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(message).toContain("longer than 63");
  });

  it("the only version fails its digest: Failed (Stalled VersionFailed)", async () => {
    const only = manifest("digest", ns.name, {
      activeVersion: "v1",
      rollout: { strategy: "BlueGreen" },
    }) as MM;
    only.spec["versions"] = (only.spec["versions"] as unknown[]).slice(0, 1);
    await h.user.apply(only);
    await waitFor(
      async () => (await getModel(h, ns.name, "digest"))?.status?.versions?.[0]?.phase === "Ready",
      30_000,
    );
    await patchPodStatus(h, ns.name, "digest", "v1", {
      initReason: "DigestMismatch",
      message: "sha256 differs",
    });
    const { model } = await kstatusReads("digest", "Failed");
    expect(condition(model, "Stalled")).toMatchObject({ status: "True", reason: "VersionFailed" });
    expect(condition(model, "Ready")?.status).toBe("False");
  });

  it("failed over and holding on the fallback: Failed (Stalled FailedOver)", async () => {
    await h.user.apply(manifest("fo", ns.name, blueGreen("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "fo"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("fo", ns.name, blueGreen("v2")));
    await waitFor(async () => {
      const m = await getModel(h, ns.name, "fo");
      return m?.status?.activeVersion === "v2" && condition(m, "Progressing")?.reason === "Complete";
    }, 30_000);
    await blockNewPods(h, ns.name);
    await deletePodsOf(h, ns.name, "fo", "v2");
    const { model } = await kstatusReads("fo", "Failed");
    expect(model.status?.activeVersion).toBe("v1");
    expect(condition(model, "Stalled")).toMatchObject({ status: "True", reason: "FailedOver" });
  });
});
