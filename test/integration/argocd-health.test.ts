// Argo CD's view of a MedModel: the chart's health check (charts/medmlops/argocd/MedModel.lua), run by a real
// Lua interpreter on the status the real operator wrote on the real control plane — before its first status,
// serving, suspended by the stop button, and failed over.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import { argoHealth } from "../support/argocd-health.ts";
import {
  blockNewPods,
  condition,
  deletePodsOf,
  getModel,
  type Harness,
  harness,
  installCrds,
  manifest,
  stableSelector,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("argocd-health");
  h = harness(ns.name);
});
afterAll(async () => {
  await h?.stop();
  await ns?.delete();
});

const blueGreen = (activeVersion: string, extra: Record<string, unknown> = {}) => ({
  activeVersion,
  rollout: { strategy: "BlueGreen", requireValidation: false },
  ...extra,
});

/** Waits until the health of the stored object is `want`; returns it with the object. */
async function healthBecomes(want: string, ms = 30_000) {
  return waitFor(async () => {
    const m = await getModel(h, ns.name, "ct");
    const health = m ? argoHealth("MedModel", m) : undefined;
    return health?.status === want ? { m: m!, health } : undefined;
  }, ms);
}

describe("Argo CD health of a MedModel the operator reconciles", () => {
  it("is Progressing before the operator has written a status", async () => {
    await h.user.apply(manifest("ct", ns.name, blueGreen("v1")));
    const m = await getModel(h, ns.name, "ct");
    expect(m?.status?.conditions).toBeUndefined();
    expect(argoHealth("MedModel", m)).toEqual({
      status: "Progressing",
      message: "Waiting for the operator to report status",
    });
  });

  it("is Healthy once the operator reports Ready", async () => {
    await h.start();
    const { m, health } = await healthBecomes("Healthy");
    expect(condition(m, "Ready")?.status).toBe("True");
    expect(health.message).toContain("v1 serves");
  });

  it("is Suspended while the stop button is pressed, with the reason", async () => {
    await h.user.apply(
      manifest("ct", ns.name, blueGreen("v1", { suspend: true, suspendReason: "vendor recall" })),
    );
    const { m, health } = await healthBecomes("Suspended");
    expect(condition(m, "Suspended")?.status).toBe("True");
    expect(health.message).toContain("vendor recall");
    await h.user.apply(manifest("ct", ns.name, blueGreen("v1", { suspend: false })));
    await healthBecomes("Healthy");
  });

  it("is Degraded after a failover, naming it", async () => {
    await waitFor(
      async () => (await getModel(h, ns.name, "ct"))?.status?.lastKnownGoodVersion === "v1",
      20_000,
    );
    await h.user.apply(manifest("ct", ns.name, blueGreen("v2")));
    await waitFor(
      async () => (await stableSelector(h, ns.name, "ct"))?.["medmlops.io/version"] === "v2",
      30_000,
    );
    await healthBecomes("Healthy");
    await blockNewPods(h, ns.name);
    await deletePodsOf(h, ns.name, "ct", "v2");
    const { m, health } = await healthBecomes("Degraded");
    expect(condition(m, "FailedOver")?.status).toBe("True");
    expect(health.message).toMatch(/^Failed over: serving v1 instead of v2/);
  });
});
