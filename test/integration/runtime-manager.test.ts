// The whole runtime in-process against the real API server: a small Widget controller built on the public
// contract (operator/runtime/index.ts) runs under the Manager — children by SSA with owner references, status
// once per reconcile, owned-object events enqueue the owner, failures retried with backoff, /readyz and /metrics.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manager } from "../../operator/manager.ts";
import {
  type ControllerFactory,
  Kinds,
  type KubeObject,
  ownerReference,
  setCondition,
  statusBody,
} from "../../operator/runtime/index.ts";
import { ApplyClient } from "../../operator/runtime/client.ts";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import { RestMapper } from "../../operator/runtime/rest-mapper.ts";
import { Widget, ensureWidgetCrd } from "../../operator/runtime/testing/widget-crd.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig, waitFor } from "../cluster/client.ts";

const log = pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
let ns: FreshNamespace;
let rest: RestClient;
let client: ApplyClient;
let manager: Manager;
const reconciles = new Map<string, number>();

type WidgetObj = KubeObject & { spec?: { size?: number; note?: string }; status?: Record<string, unknown> };

const widgetController: ControllerFactory = (deps) => ({
  name: "widget",
  for: Widget,
  owns: [Kinds.ConfigMap],
  workers: 2,
  reconciler: {
    async reconcile(key, ctx) {
      reconciles.set(key.name, (reconciles.get(key.name) ?? 0) + 1);
      const w = deps.cache.get<WidgetObj>(Widget, key);
      if (!w || w.metadata?.deletionTimestamp) return undefined;
      const failing = w.spec?.note === "fail";
      const prev = (w.status?.["conditions"] as never[] | undefined) ?? [];
      let succeeded = true;
      let message = "child applied";
      try {
        if (failing) throw new Error("simulated failure");
        await deps.client.apply({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: `${key.name}-child`,
            namespace: key.namespace,
            ownerReferences: [ownerReference(w)],
          },
          data: { size: String(w.spec?.size ?? 0) },
        });
      } catch (err) {
        succeeded = false;
        message = (err as Error).message;
      }
      const conditions = setCondition(
        prev,
        {
          type: "Ready",
          status: succeeded ? "True" : "False",
          reason: succeeded ? "Reconciled" : "Failed",
          message,
        },
        ctx.now(),
      );
      await deps.client.applyStatus(statusBody(w, { conditions }, { succeeded }));
      if (!succeeded) {
        deps.events.record(w, "Warning", "ReconcileFailed", "Reconcile", "could not apply child");
        throw new Error(message);
      }
      return w.spec?.note === "tick" ? { requeueAfterMs: 300 } : undefined;
    },
  },
});

beforeAll(async () => {
  const kc = testKubeConfig();
  rest = restClientFromKubeConfig(kc);
  await ensureWidgetCrd(rest);
  ns = await freshNamespace("rt-manager");
  client = new ApplyClient(rest, new RestMapper(rest));
  manager = new Manager({
    kubeConfig: kc,
    log,
    controllers: [widgetController],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: { namespace: ns.name, sidecarImage: "unused", identity: "manager-test" },
  });
  await manager.start();
});

afterAll(async () => {
  await manager?.stop();
  await ns?.delete();
});

function widget(name: string, spec: WidgetObj["spec"]): WidgetObj {
  return {
    apiVersion: "runtime-test.medmlops.io/v1",
    kind: "Widget",
    metadata: { name, namespace: ns.name },
    spec,
  };
}

async function getWidget(name: string): Promise<WidgetObj | undefined> {
  return client.get<WidgetObj>(Widget, { namespace: ns.name, name });
}

async function getChild(name: string): Promise<KubeObject | undefined> {
  return client.get(Kinds.ConfigMap, { namespace: ns.name, name: `${name}-child` });
}

async function http(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${manager.port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("manager + controller on the real API server", () => {
  it("is ready once caches synced and serves health", async () => {
    expect((await http("/healthz")).status).toBe(200);
    expect((await http("/readyz")).status).toBe(200);
    expect(manager.isLeader()).toBe(true);
  });

  it("creates the child with an owner reference and writes status with observedGeneration", async () => {
    await client.apply(widget("w1", { size: 1 }));
    const child = await waitFor(() => getChild("w1"), 20_000);
    expect(child["data"]).toEqual({ size: "1" });
    expect(child.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Widget",
      name: "w1",
      controller: true,
    });
    const w = await waitFor(async () => {
      const x = await getWidget("w1");
      return x?.status?.["observedGeneration"] === 1 ? x : undefined;
    }, 20_000);
    const conditions = (w.status?.["conditions"] ?? []) as Array<{ type: string; status: string }>;
    expect(conditions[0]).toMatchObject({
      type: "Ready",
      status: "True",
    });
  });

  it("follows spec changes (level-triggered) and re-creates a deleted child via the owner mapping", async () => {
    await client.apply(widget("w1", { size: 2 }));
    await waitFor(async () => (await getChild("w1"))?.["data"]?.["size" as never] === "2", 20_000);
    await waitFor(async () => (await getWidget("w1"))?.status?.["observedGeneration"] === 2, 20_000);
    await client.delete(Kinds.ConfigMap, { namespace: ns.name, name: "w1-child" });
    await waitFor(async () => {
      const c = await getChild("w1");
      return c !== undefined && c.metadata?.deletionTimestamp === undefined;
    }, 20_000);
  });

  it("retries a failing reconcile with backoff, keeps observedGeneration, records an Event, counts errors", async () => {
    await client.apply(widget("bad", { note: "fail" }));
    await waitFor(() => (reconciles.get("bad") ?? 0) >= 3, 20_000);
    const w = await waitFor(async () => {
      const x = await getWidget("bad");
      return (x?.status?.["conditions"] as unknown[] | undefined)?.length ? x : undefined;
    }, 20_000);
    expect(w.status?.["observedGeneration"]).toBeUndefined();
    const metrics = (await http("/metrics")).body;
    expect(metrics).toMatch(/medmlops_operator_reconcile_total\{controller="widget",result="error"\} [1-9]/);
    expect(metrics).toMatch(/medmlops_operator_workqueue_retries_total\{controller="widget"\} [1-9]/);
    expect(metrics).toMatch(
      /medmlops_operator_reconcile_total\{controller="widget",result="success"\} [1-9]/,
    );
    expect(metrics).toContain("medmlops_operator_reconcile_duration_seconds_bucket");
    expect(metrics).toMatch(/medmlops_operator_leader 1/);
    expect(metrics).not.toContain('name="bad"'); // no object names in labels
    const events = await waitFor(async () => {
      const list = await rest.request<{ items: KubeObject[] }>(
        "GET",
        `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
        { query: { fieldSelector: "regarding.name=bad" } },
      );
      return list.items.length > 0 ? list.items : undefined;
    }, 20_000);
    expect(events[0]).toMatchObject({ reason: "ReconcileFailed", type: "Warning" });
    expect(events).toHaveLength(1); // repeats deduped
  });

  it("requeues after the delay a reconcile asks for, without any watch event", async () => {
    await client.apply(widget("ticker", { note: "tick" }));
    await waitFor(() => (reconciles.get("ticker") ?? 0) >= 5, 20_000);
  });
});
