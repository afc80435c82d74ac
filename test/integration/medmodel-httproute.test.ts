// Exact-weight canaries through a Gateway API HTTPRoute on the real control plane: the Gateway API CRDs come
// from the Go module cache (test/cluster/gateway-api.ts) and are installed BEFORE the operator starts, so its
// discovery finds HTTPRoutes. The route follows the canary steps with exact weights, moves to the fallback on
// failover and goes away when the setting is removed. A kind the cluster does not serve must not keep the
// operator from becoming ready.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manager } from "../../operator/manager.ts";
import { medModelControllerWith } from "../../operator/medmodel/controller.ts";
import { HTTPRouteKind } from "../../operator/medmodel/httproute.ts";
import type { GVK, KubeObject } from "../../operator/runtime/index.ts";
import {
  type FreshNamespace,
  freshNamespace,
  kubectl,
  kubectlOk,
  testKubeConfig,
} from "../cluster/client.ts";
import { installGatewayApiCrds } from "../cluster/gateway-api.ts";
import { KWOK_ANNOTATION } from "../cluster/nodes.ts";
import {
  blockNewPods,
  condition,
  deletePodsOf,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;

// A fake node of this test's own (tainted, so nothing else lands on it): the shared cluster's nodes may be full
// of another run's benchmark pods, and then no version would ever become ready.
let nodeName = "";
const NODE_KEY = "medmlops.io/test-node";

async function createOwnNode(name: string) {
  const capacity = { cpu: "8", memory: "32Gi", pods: "50" };
  await kubectlOk(
    ["apply", "--server-side", "--field-manager=medmlops-integration-test", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { [KWOK_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: { "kubernetes.io/hostname": name, type: "kwok", [NODE_KEY]: name },
      },
      spec: { taints: [{ key: NODE_KEY, value: name, effect: "NoSchedule" }] },
      status: { capacity, allocatable: capacity },
    }),
  );
  await kubectlOk(["wait", "--for=condition=Ready", "--timeout=60s", `node/${name}`]);
}

beforeAll(async () => {
  await installCrds();
  await installGatewayApiCrds();
  ns = await freshNamespace("medmodel-route");
  nodeName = `kwok-${ns.name}`;
  await createOwnNode(nodeName);
  h = harness(ns.name);
  await h.start();
}, 240_000);

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
  if (nodeName) await kubectl(["delete", "node", nodeName, "--wait=false"]);
});

type Route = KubeObject & {
  spec?: {
    parentRefs?: { name: string; port?: number }[];
    rules?: { backendRefs?: { name: string; port: number; weight: number }[] }[];
  };
};

async function route(name: string): Promise<Route | undefined> {
  return h.user.get<Route>(HTTPRouteKind, { namespace: ns.name, name });
}

/** "service=weight" per backend, in the route's order (serving first). */
async function weights(name: string): Promise<string[] | undefined> {
  const r = await route(name);
  return r?.spec?.rules?.[0]?.backendRefs?.map((b) => `${b.name}=${b.weight}`);
}

async function waitForWeights(name: string, expected: string[], timeoutMs = 60_000) {
  await waitFor(
    async () => JSON.stringify(await weights(name)) === JSON.stringify(expected),
    timeoutMs,
    100,
  ).catch(async (err) => {
    throw new Error(
      `route ${name}: wanted ${expected.join(",")}, have ${(await weights(name))?.join(",")}: ${err}`,
    );
  });
}

const spec = (activeVersion: string, extra: Record<string, unknown> = {}) => ({
  activeVersion,
  serving: {
    replicas: 2,
    nodeSelector: { [NODE_KEY]: nodeName },
    tolerations: [{ key: NODE_KEY, operator: "Equal", value: nodeName, effect: "NoSchedule" }],
  },
  failover: { unavailableAfter: "1s", fallbackVersion: "v1" },
  rollout: {
    strategy: "Canary",
    requireValidation: false,
    // A step's pause counts from when the step began, also while its pods start: the first step's is long
    // enough that its weights are on the route for a while even when the canary pod is slow to be ready.
    steps: [{ weight: 20, pause: "15s" }, { weight: 60, pause: "5s" }, { weight: 100 }],
    trafficRouting: {
      gatewayAPI: {
        parentRefs: [{ name: "hospital-gw", sectionName: "http" }],
        hostnames: ["chest.example"],
      },
    },
  },
  ...extra,
});

describe("MedModel with a Gateway API HTTPRoute", () => {
  it("creates the route <model> with 100 % on the serving version, owned by the MedModel", async () => {
    await h.user.apply(manifest("chest", ns.name, spec("v1")));
    await waitForWeights("chest", ["chest-v1=100"]);
    const r = (await route("chest"))!;
    expect(r.metadata?.labels?.["medmlops.io/model"]).toBe("chest");
    expect(r.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "MedModel",
      name: "chest",
      controller: true,
    });
    expect(r.spec?.parentRefs).toEqual([
      expect.objectContaining({ name: "hospital-gw", sectionName: "http", port: 80, kind: "Gateway" }),
    ]);
    expect(r.spec?.rules?.[0]?.backendRefs?.[0]?.port).toBe(80);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.status?.lastKnownGoodVersion === "v1" ? x : undefined;
    }, 90_000);
    expect(condition(m, "Degraded")?.status).toBe("False");
  }, 240_000);

  it("moves exact weights through the canary steps, then sends everything to the promoted version", async () => {
    await h.user.apply(manifest("chest", ns.name, spec("v2")));
    // Exactly 20 % although 2 replicas split 1:1 — the Gateway splits by weight, not by pods.
    await waitForWeights("chest", ["chest-v1=80", "chest-v2=20"]);
    await waitForWeights("chest", ["chest-v1=40", "chest-v2=60"]);
    await waitForWeights("chest", ["chest-v2=100"]);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.status?.activeVersion === "v2" && !x.status.canary ? x : undefined;
    }, 30_000);
    expect(m.status?.activeVersion).toBe("v2");
  }, 240_000);

  it("sends 100 % to the fallback when the serving version fails over", async () => {
    // v1 stays as the warm standby (fallbackVersion); make v2's pods disappear for good.
    await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return (x?.status?.versions?.find((v) => v.name === "v1")?.readyReplicas ?? 0) >= 1;
    }, 60_000);
    await blockNewPods(h, ns.name);
    await deletePodsOf(h, ns.name, "chest", "v2");
    await waitForWeights("chest", ["chest-v1=100"], 30_000);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return condition(x, "FailedOver")?.status === "True" ? x : undefined;
    }, 30_000);
    expect(m.status?.activeVersion).toBe("v1");
  }, 240_000);

  it("deletes the route when spec.rollout.trafficRouting is removed", async () => {
    const plain = spec("v2");
    delete (plain.rollout as { trafficRouting?: unknown }).trafficRouting;
    await h.user.apply(manifest("chest", ns.name, plain));
    await waitFor(async () => (await route("chest")) === undefined, 30_000);
  }, 240_000);
});

describe("optional child kinds", () => {
  it("watches served ones, skips unserved ones, and the operator still becomes ready", async () => {
    await h.stop(); // one operator per namespace
    const unserved: GVK = {
      group: "not-installed.medmlops.io",
      version: "v1",
      kind: "Nothing",
      plural: "nothings",
      namespaced: true,
    };
    const base = medModelControllerWith({ decision: FAST });
    let served: ((gvk: GVK) => boolean) | undefined;
    const manager = new Manager({
      kubeConfig: testKubeConfig(),
      log: pino({ level: "silent" }),
      controllers: [
        (deps) => {
          served = deps.served;
          const s = base(deps);
          return { ...s, name: "medmodel-optional", optionalOwns: [...(s.optionalOwns ?? []), unserved] };
        },
      ],
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      config: { namespace: ns.name, sidecarImage: "img:test", identity: `optional-${process.pid}` },
    });
    try {
      await Promise.race([
        manager.start(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("manager did not start")), 30_000)),
      ]);
      const res = await fetch(`http://127.0.0.1:${manager.port}/readyz`);
      expect(res.status).toBe(200);
      expect(served?.(HTTPRouteKind)).toBe(true);
      expect(served?.(unserved)).toBe(false);
      expect(manager.cache.kinds().map((k) => k.kind)).toContain("HTTPRoute");
      expect(manager.cache.kinds().map((k) => k.kind)).not.toContain("Nothing");
    } finally {
      await manager.stop();
    }
  }, 240_000);
});
