// The operator's admission re-check on the real control plane (kube-apiserver, kwok nodes), without the chart's
// ValidatingAdmissionPolicy (as in a cluster without it): a MedModel whose image is outside the allow-list gets
// Ready=False PolicyRefused (Stalled), one Warning Event naming the field and rule, and no new Deployment; the
// earlier accepted Deployment keeps its spec; the stop button still works; fixing the spec recovers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import { argoHealth } from "../support/argocd-health.ts";
import {
  condition,
  eventsFor,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  listNames,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;
const GOOD = "ghcr.io/medmlops/medmlops:test-cuda";
const BAD = "evil.example/miner:latest";

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("mm-admission");
  h = harness(ns.name, FAST, {
    admission: { imagePrefixes: ["ghcr.io/medmlops/medmlops:"], keySecrets: ["medmlops-deid-key"] },
  });
  await h.start();
});

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
});

type Dep = KubeObject & {
  spec: { template: { spec: { containers: { name: string; image: string }[] } } };
};
const imagesOf = async (name: string) => {
  const d = await h.user.get<Dep>(Kinds.Deployment, { namespace: ns.name, name });
  return d?.spec.template.spec.containers.map((c) => c.image);
};
const spec = (image: string, extra: Record<string, unknown> = {}) => ({
  activeVersion: "v1",
  rollout: { strategy: "BlueGreen", requireValidation: false },
  serving: { replicas: 1, image },
  ...extra,
});

describe("MedModel admission re-check", () => {
  it("refuses a disallowed image of a new model: condition, one Event, no Deployment", async () => {
    await h.user.apply(manifest("fresh", ns.name, spec(BAD)));
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "fresh");
      return condition(x, "Ready")?.reason === "PolicyRefused" ? x : undefined;
    }, 30_000);
    expect(condition(m, "Ready")?.status).toBe("False");
    expect(condition(m, "Stalled")).toMatchObject({ status: "True", reason: "PolicyRefused" });
    // Argo CD (charts/medmlops/argocd/MedModel.lua) shows the refusal as Degraded, naming it.
    expect(argoHealth("MedModel", m)).toMatchObject({ status: "Degraded" });
    expect(argoHealth("MedModel", m).message).toContain("spec.serving.image");
    const events = await waitFor(async () => {
      const e = (await eventsFor(h, ns.name, "fresh")).filter((x) => x.reason === "PolicyRefused");
      return e.length > 0 ? e : undefined;
    }, 15_000);
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe("Warning");
    expect(events[0]!.note).toContain("spec.serving.image");
    expect(events[0]!.note).not.toContain("evil");
    expect(await listNames(h, Kinds.Deployment, ns.name, "fresh")).toEqual([]);
  });

  it("keeps the accepted Deployment when a later spec is refused, obeys the stop button, recovers on a fix", async () => {
    await h.user.apply(manifest("chest", ns.name, spec(GOOD)));
    await waitFor(
      async () => condition(await getModel(h, ns.name, "chest"), "Ready")?.status === "True",
      30_000,
    );
    const before = await imagesOf("chest-v1");
    expect(before).toContain(GOOD);

    // A refused spec that would also add a new version: nothing of it is applied.
    await h.user.apply(manifest("chest", ns.name, spec(BAD)));
    await waitFor(
      async () => condition(await getModel(h, ns.name, "chest"), "Ready")?.reason === "PolicyRefused",
      30_000,
    );
    expect(await imagesOf("chest-v1")).toEqual(before);
    expect((await listNames(h, Kinds.Deployment, ns.name, "chest")).sort()).toEqual(["chest-v1", "chest-v2"]);

    // The stop button while refused.
    await h.user.apply(manifest("chest", ns.name, spec(BAD, { suspend: true, suspendReason: "recall" })));
    await waitFor(async () => {
      const cm = await h.user.get<KubeObject & { data?: Record<string, string> }>(Kinds.ConfigMap, {
        namespace: ns.name,
        name: "chest-signature",
      });
      return (
        cm?.data?.["control.json"]?.includes('"suspended":true') && cm.data["signature-v1.json"] !== undefined
      );
    }, 30_000);
    expect(condition(await getModel(h, ns.name, "chest"), "Suspended")?.status).toBe("True");
    expect(await imagesOf("chest-v1")).toEqual(before);

    // Fixed (and resumed): the new image is applied, the model serves again.
    const FIXED = "ghcr.io/medmlops/medmlops:test-fixed";
    await h.user.apply(manifest("chest", ns.name, spec(FIXED)));
    await waitFor(async () => (await imagesOf("chest-v1"))?.includes(FIXED), 30_000);
    await waitFor(async () => {
      const m = await getModel(h, ns.name, "chest");
      return condition(m, "Ready")?.status === "True" && condition(m, "Stalled")?.status === "False";
    }, 30_000);
    const refusedEvents = (await eventsFor(h, ns.name, "chest")).filter((e) => e.reason === "PolicyRefused");
    expect(refusedEvents).toHaveLength(1);
  });
});
