// The reconciler's wiring with an in-memory cache and a recording client: what it reads, applies, prunes,
// patches and records. The decisions themselves are covered by decide.test.ts; the real API server by
// test/integration/medmodel-controller.test.ts.
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { GVK, KubeObject } from "../runtime/index.ts";
import { fakeDeps } from "../runtime/testing/fake-deps.ts";
import { MedModelKind, medModelControllerWith } from "./controller.ts";
import { medModelManifest } from "./fixtures.ts";

function setup(
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
  served?: (gvk: GVK) => boolean,
) {
  const t = fakeDeps(served ? { served } : {});
  const { cache, client } = t;
  const recorded = t.events;
  const model = medModelManifest("chest", "rad", spec) as KubeObject;
  model.metadata = {
    ...model.metadata,
    uid: "uid-1",
    generation: 1,
    resourceVersion: "5",
    ...(annotations ? { annotations } : {}),
  };
  cache.put(model);
  const controller = medModelControllerWith({})(t.deps);
  const reconcile = () => controller.reconciler.reconcile({ namespace: "rad", name: "chest" }, t.context());
  return { cache, client, recorded, controller, reconcile };
}

describe("MedModel reconciler", () => {
  it("declares what it watches", () => {
    const { controller } = setup();
    expect(controller.for).toEqual(MedModelKind);
    expect(controller.owns?.map((g) => g.kind)).toEqual([
      "Deployment",
      "Service",
      "ConfigMap",
      "PodDisruptionBudget",
    ]);
    expect(controller.watches?.map((w) => w.gvk.kind)).toEqual(["Pod", "ValidationPolicy"]);
    const podMap = controller.watches?.[0]?.map({
      metadata: { namespace: "rad", labels: { "medmlops.io/model": "chest" } },
    });
    expect(podMap).toEqual([{ namespace: "rad", name: "chest" }]);
    const vpMap = controller.watches?.[1]?.map({
      metadata: { namespace: "rad" },
      spec: { modelRef: { name: "chest" } },
    } as KubeObject);
    expect(vpMap).toEqual([{ namespace: "rad", name: "chest" }]);
  });

  it("narrows the cache to what it made: every child and pod template carries the owned selector", async () => {
    const { client, controller, reconcile } = setup();
    const selector = controller.ownedView?.labelSelector;
    expect(selector).toBe("app.kubernetes.io/managed-by=medmlops");
    expect(controller.watches?.[0]?.labelSelector).toBe(selector);
    await reconcile();
    const [key, value] = selector!.split("=");
    for (const child of client.applied) {
      expect(child.metadata?.labels?.[key!], `${child.kind}/${child.metadata?.name}`).toBe(value);
      const template = (child as { spec?: { template?: { metadata?: KubeObject["metadata"] } } }).spec
        ?.template;
      if (child.kind === "Deployment") expect(template?.metadata?.labels?.[key!]).toBe(value);
    }
  });

  it("caches pods without their spec, keeping what observe reads", () => {
    const { controller } = setup();
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "p",
        namespace: "rad",
        labels: { "medmlops.io/model": "chest" },
        deletionTimestamp: "t",
      },
      spec: { containers: [{ name: "sidecar", env: [{ name: "A", value: "B" }] }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [] },
    } as KubeObject;
    const lean = controller.watches?.[0]?.transform?.(pod);
    expect(lean).toEqual({ apiVersion: "v1", kind: "Pod", metadata: pod.metadata, status: pod["status"] });
  });

  it("caches Deployments without their pod template, other children whole", async () => {
    const { client, controller, reconcile } = setup();
    await reconcile();
    const narrow = controller.ownedView?.transform ?? ((o: KubeObject) => o);
    const dep = client.applied.find((o) => o.kind === "Deployment")!;
    const withStatus = { ...dep, status: { conditions: [{ type: "Available", status: "True" }] } };
    expect(narrow(withStatus)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: dep.metadata,
      spec: { replicas: (dep as { spec: { replicas: number } }).spec.replicas },
      status: withStatus.status,
    });
    const svc = client.applied.find((o) => o.kind === "Service")!;
    expect(narrow(svc)).toBe(svc);
  });

  it("applies every child, writes status once", async () => {
    const { client, reconcile } = setup();
    await reconcile();
    expect(client.applied.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
      "ConfigMap/chest-signature",
      "Deployment/chest-v1",
      "Deployment/chest-v2",
      "Service/chest",
      "Service/chest-v1",
      "Service/chest-v2",
    ]);
    expect(client.statuses).toHaveLength(1);
    const status = client.statuses[0]?.["status"] as { activeVersion: string; observedGeneration: number };
    expect(status.activeVersion).toBe("v1");
    expect(status.observedGeneration).toBe(1);
  });

  it("does not re-apply unchanged children or rewrite an unchanged status", async () => {
    const { client, cache, reconcile } = setup();
    const observeOwnWrite = () => {
      const model = cache.get<KubeObject>(MedModelKind, { namespace: "rad", name: "chest" })!;
      const status = client.statuses.at(-1)?.["status"];
      cache.put({
        ...model,
        status,
        metadata: { ...model.metadata, resourceVersion: String(client.rv + 1) },
      });
    };
    await reconcile(); // creates the children
    observeOwnWrite();
    await reconcile(); // sees the Deployments exist: phase message changes once
    observeOwnWrite();
    const applies = client.applied.length;
    const writes = client.statuses.length;
    await reconcile();
    expect(client.applied.length).toBe(applies);
    expect(client.statuses.length).toBe(writes);
  });

  it("does not write the same status again while the cache has not seen its own write", async () => {
    const { client, reconcile } = setup();
    await reconcile(); // creates the children; status: Deployments not created yet
    await reconcile(); // the Deployments are in the cache now: the phase message changes
    expect(client.statuses).toHaveLength(2);
    await reconcile(); // nothing changed, and the cached MedModel still has no status at all
    await reconcile();
    expect(client.statuses).toHaveLength(2);
  });

  it("prunes the Deployment and Service of a version removed from spec", async () => {
    const { client, cache, reconcile } = setup();
    await reconcile();
    const model = cache.get<KubeObject & { spec: { versions: unknown[] } }>(MedModelKind, {
      namespace: "rad",
      name: "chest",
    })!;
    cache.put({ ...model, spec: { ...model.spec, versions: model.spec.versions.slice(0, 1) } });
    await reconcile();
    expect(client.deleted.sort()).toEqual(["Deployment/chest-v2", "Service/chest-v2"]);
  });

  it("consumes a stale retry annotation with a merge patch", async () => {
    const { client, reconcile } = setup({}, { "medmlops.io/retry-version": "v2" });
    await reconcile();
    expect(client.patches).toEqual([{ metadata: { annotations: { "medmlops.io/retry-version": null } } }]);
  });

  it("reports an invalid spec in status instead of building children", async () => {
    const { client, cache, reconcile } = setup();
    const model = cache.get<KubeObject & { spec: Record<string, unknown> }>(MedModelKind, {
      namespace: "rad",
      name: "chest",
    })!;
    cache.put({ ...model, spec: { ...model.spec, versions: [] } });
    await reconcile();
    expect(client.applied).toEqual([]);
    const conds = (client.statuses[0]!["status"] as { conditions: { type: string; reason: string }[] })
      .conditions;
    expect(conds.find((c) => c.type === "Degraded")?.reason).toBe("InvalidSpec");
  });

  it("records the suspend Event and writes the control file", async () => {
    const { client, recorded, reconcile } = setup(
      { suspend: true, suspendReason: "recall" },
      { "medmlops.io/suspended-by": "safety-officer" },
    );
    await reconcile();
    expect(recorded.find((e) => e.reason === "Suspended")?.note).toBe(
      "inference stopped by safety-officer: recall",
    );
    const cm = client.applied.find((o) => o.kind === "ConfigMap") as KubeObject & {
      data: Record<string, string>;
    };
    expect(JSON.parse(cm.data["control.json"] ?? "{}")).toEqual({
      suspended: true,
      reason: "inference stopped by safety-officer: recall",
    });
  });

  it("does nothing for a model that is gone", async () => {
    const { client, cache, controller } = setup();
    cache.clear();
    const r = await controller.reconciler.reconcile(
      { namespace: "rad", name: "chest" },
      {
        signal: new AbortController().signal,
        log: pino({ level: "silent" }),
        now: () => new Date(),
      },
    );
    expect(r).toBeUndefined();
    expect(client.applied).toEqual([]);
  });

  describe("Gateway API HTTPRoute", () => {
    const gatewaySpec = {
      rollout: {
        strategy: "Canary",
        requireValidation: false,
        trafficRouting: { gatewayAPI: { parentRefs: [{ name: "hospital-gw" }] } },
      },
    };
    const servesGateway = (gvk: GVK) => gvk.group === "gateway.networking.k8s.io" && gvk.kind === "HTTPRoute";

    it("declares the HTTPRoute as an optional child (watched only when the cluster serves it)", () => {
      const { controller } = setup();
      expect(controller.optionalOwns?.map((g) => `${g.group}/${g.version}/${g.plural}`)).toEqual([
        "gateway.networking.k8s.io/v1/httproutes",
      ]);
    });

    it("applies the route with 100 % on the serving version when the kind is served", async () => {
      const { client, reconcile } = setup(gatewaySpec, undefined, servesGateway);
      await reconcile();
      const route = client.applied.find((o) => o.kind === "HTTPRoute") as KubeObject & {
        spec: { rules: { backendRefs: { name: string; weight: number }[] }[] };
      };
      expect(route?.metadata?.name).toBe("chest");
      expect(route.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight])).toEqual([["chest-v1", 100]]);
    });

    it("reports Degraded GatewayAPIUnavailable (and an Event) instead of writing an unserved kind", async () => {
      const { client, recorded, reconcile } = setup(gatewaySpec);
      await reconcile();
      expect(client.applied.some((o) => o.kind === "HTTPRoute")).toBe(false);
      const conds = (client.statuses[0]!["status"] as { conditions: { type: string; reason: string }[] })
        .conditions;
      expect(conds.find((c) => c.type === "Degraded")?.reason).toBe("GatewayAPIUnavailable");
      expect(recorded.map((e) => e.reason)).toContain("GatewayAPIUnavailable");
    });

    it("is not Degraded without the setting, even when the kind is not served", async () => {
      const { client, reconcile } = setup();
      await reconcile();
      const conds = (client.statuses[0]!["status"] as { conditions: { type: string; status: string }[] })
        .conditions;
      expect(conds.find((c) => c.type === "Degraded")?.status).toBe("False");
    });

    it("deletes its route when the setting is removed", async () => {
      const { client, cache, reconcile } = setup(gatewaySpec, undefined, servesGateway);
      await reconcile();
      const model = cache.get<KubeObject & { spec: { rollout: Record<string, unknown> } }>(MedModelKind, {
        namespace: "rad",
        name: "chest",
      })!;
      cache.put({
        ...model,
        spec: { ...model.spec, rollout: { strategy: "Canary", requireValidation: false } },
      });
      await reconcile();
      expect(client.deleted).toEqual(["HTTPRoute/chest"]);
    });
  });
});
