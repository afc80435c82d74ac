import { describe, expect, it } from "vitest";
import { medModel } from "./fixtures.ts";
import { buildHTTPRoute, routeWeights } from "./httproute.ts";
import type { Decision, DecisionStatus } from "./types.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into plain JSON objects
type Any = any;

const routing = {
  strategy: "Canary",
  requireValidation: false,
  trafficRouting: {
    gatewayAPI: {
      parentRefs: [
        { name: "hospital-gw", namespace: "gateways", sectionName: "https" },
        { name: "internal" },
      ],
      hostnames: ["chest.radiology.example"],
      port: 443,
    },
  },
};

const decision = (
  status: DecisionStatus,
  over: Partial<Pick<Decision, "servingVersion" | "control">> = {},
): Pick<Decision, "servingVersion" | "status" | "control"> => ({
  servingVersion: "v1",
  status,
  control: { suspended: false },
  ...over,
});

const canaryAt = (weight: number, ready = 1): DecisionStatus => ({
  canary: { version: "v2", weight, step: 0, since: "2026-01-01T00:00:00Z" },
  versions: [
    { name: "v1", phase: "Ready", readyReplicas: 2 },
    { name: "v2", phase: ready > 0 ? "Ready" : "Loading", readyReplicas: ready },
  ],
});

const backends = (route: Any) =>
  route.spec.rules[0].backendRefs.map((b: Any) => `${b.name}:${b.port}=${b.weight}`);

describe("buildHTTPRoute", () => {
  it("is not built when the model does not ask for Gateway API routing", () => {
    expect(buildHTTPRoute(medModel(), decision({}))).toBeUndefined();
    expect(
      buildHTTPRoute(medModel({ rollout: { strategy: "Canary", trafficRouting: {} } }), decision({})),
    ).toBeUndefined();
  });

  it("names the route after the model, labels it and makes the MedModel its controller owner", () => {
    const route = buildHTTPRoute(medModel({ rollout: routing }), decision({})) as Any;
    expect(route.apiVersion).toBe("gateway.networking.k8s.io/v1");
    expect(route.kind).toBe("HTTPRoute");
    expect(route.metadata.name).toBe("chest");
    expect(route.metadata.namespace).toBe("rad");
    expect(route.metadata.labels["medmlops.io/model"]).toBe("chest");
    expect(route.metadata.labels["app.kubernetes.io/managed-by"]).toBe("medmlops");
    expect(route.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "MedModel", name: "chest", controller: true }),
    ]);
  });

  it("attaches to every parentRef on the configured listener port, with the hostnames", () => {
    const route = buildHTTPRoute(medModel({ rollout: routing }), decision({})) as Any;
    expect(route.spec.parentRefs).toEqual([
      {
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        name: "hospital-gw",
        namespace: "gateways",
        sectionName: "https",
        port: 443,
      },
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "internal", port: 443 },
    ]);
    expect(route.spec.hostnames).toEqual(["chest.radiology.example"]);
  });

  it("defaults the listener port to 80 and leaves hostnames out when none are given", () => {
    const model = medModel({
      rollout: { strategy: "Canary", trafficRouting: { gatewayAPI: { parentRefs: [{ name: "gw" }] } } },
    });
    const route = buildHTTPRoute(model, decision({})) as Any;
    expect(route.spec.parentRefs[0].port).toBe(80);
    expect(route.spec).not.toHaveProperty("hostnames");
  });

  it("sends everything to the serving version's Service without a canary", () => {
    const route = buildHTTPRoute(medModel({ rollout: routing }), decision({})) as Any;
    expect(backends(route)).toEqual(["chest-v1:80=100"]);
  });

  it("splits exactly by the canary step's weight, whatever the replica counts", () => {
    const model = medModel({ rollout: routing });
    expect(backends(buildHTTPRoute(model, decision(canaryAt(10))))).toEqual([
      "chest-v1:80=90",
      "chest-v2:80=10",
    ]);
    expect(backends(buildHTTPRoute(model, decision(canaryAt(50))))).toEqual([
      "chest-v1:80=50",
      "chest-v2:80=50",
    ]);
    expect(backends(buildHTTPRoute(model, decision(canaryAt(100))))).toEqual([
      "chest-v1:80=0",
      "chest-v2:80=100",
    ]);
  });

  it("follows the serving version: after failover the fallback gets 100", () => {
    const route = buildHTTPRoute(
      medModel({ rollout: routing }),
      decision({}, { servingVersion: "v2" }),
    ) as Any;
    expect(backends(route)).toEqual(["chest-v2:80=100"]);
  });
});

describe("routeWeights", () => {
  it("gives a canary without a ready replica no traffic yet (a backend without endpoints answers 5xx)", () => {
    expect(routeWeights(decision(canaryAt(25, 0)))).toEqual([
      { version: "v1", weight: 100 },
      { version: "v2", weight: 0 },
    ]);
  });

  it("sends nothing to a frozen canary while the model is suspended", () => {
    expect(routeWeights(decision(canaryAt(50), { control: { suspended: true } }))).toEqual([
      { version: "v1", weight: 100 },
      { version: "v2", weight: 0 },
    ]);
  });

  it("treats a canary of the serving version as no canary", () => {
    expect(routeWeights(decision(canaryAt(50), { servingVersion: "v2" }))).toEqual([
      { version: "v2", weight: 100 },
    ]);
  });
});
