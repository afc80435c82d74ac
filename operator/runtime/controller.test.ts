import pino from "pino";
import { describe, expect, it } from "vitest";
import { SharedCache } from "./cache.ts";
import { Controller } from "./controller.ts";
import { Kinds } from "./gvk.ts";
import { OperatorMetrics } from "./metrics.ts";
import type { RequestOptions, RestClient, StreamOptions } from "./rest.ts";
import type { GVK, KubeObject, ObjectKey, ReconcileResult } from "./types.ts";

const log = pino({ level: "silent" });
const Parent: GVK = { group: "medmlops.io", version: "v1alpha1", kind: "MedModel", plural: "medmodels" };

/** An API server in memory: lists from `objects`, watches stay open and receive `emit`ted events. */
class FakeApi implements RestClient {
  private watchers = new Map<string, (line: string) => void>();
  /** The label selector each list and watch asked for, by path ("" when none). */
  selectors: string[] = [];
  constructor(private readonly objects: Record<string, KubeObject[]>) {}
  async request<T>(_m: string, path: string, o?: RequestOptions): Promise<T> {
    this.selectors.push(`list ${path} ${o?.query?.["labelSelector"] ?? ""}`);
    return { items: this.objects[path] ?? [], metadata: { resourceVersion: "1" } } as T;
  }
  stream(path: string, o: StreamOptions): Promise<void> {
    this.selectors.push(`watch ${path} ${o.query?.["labelSelector"] ?? ""}`);
    this.watchers.set(path, o.onLine);
    return new Promise((resolve) => o.signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  emit(path: string, type: string, object: KubeObject): void {
    this.watchers.get(path)?.(JSON.stringify({ type, object }));
  }
}

const parent = (name: string): KubeObject => ({
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  metadata: { namespace: "rad", name, uid: `uid-${name}`, resourceVersion: "1" },
});
const child = (name: string, owner: string, rv = "1"): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    namespace: "rad",
    name,
    resourceVersion: rv,
    ownerReferences: [
      {
        apiVersion: "medmlops.io/v1alpha1",
        kind: "MedModel",
        name: owner,
        uid: `uid-${owner}`,
        controller: true,
      },
    ],
  },
});

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup(
  reconcile: (key: ObjectKey) => Promise<ReconcileResult | undefined>,
  objects: Record<string, KubeObject[]>,
  namespaces?: ReadonlySet<string>,
) {
  const api = new FakeApi(objects);
  const cache = new SharedCache(api, { log });
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const controller = new Controller(
    { name: "medmodel", for: Parent, owns: [Kinds.Deployment], reconciler: { reconcile }, workers: 3 },
    cache,
    metrics,
    log,
    { backoffBaseMs: 1, backoffMaxMs: 5 },
    namespaces,
  );
  return { api, cache, metrics, controller };
}

describe("Controller", () => {
  it("lists and watches children and watched kinds through their label selector, caching the transformed view", async () => {
    const api = new FakeApi({
      "/apis/medmlops.io/v1alpha1/medmodels": [parent("a")],
      "/apis/apps/v1/deployments": [],
      "/api/v1/pods": [
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { namespace: "rad", name: "p", resourceVersion: "1", labels: { model: "a" } },
          spec: { containers: [{ name: "big" }] },
          status: { phase: "Running" },
        },
      ],
    });
    const cache = new SharedCache(api, { log });
    const mapped: string[] = [];
    new Controller(
      {
        name: "medmodel",
        for: Parent,
        owns: [Kinds.Deployment],
        ownedView: { labelSelector: "managed-by=us" },
        watches: [
          {
            gvk: Kinds.Pod,
            labelSelector: "managed-by=us",
            transform: ({ spec: _spec, ...rest }: KubeObject & { spec?: unknown }) => rest,
            map: (pod) => {
              mapped.push(pod.metadata?.labels?.["model"] ?? "");
              return [];
            },
          },
        ],
        reconciler: { reconcile: async () => undefined },
      },
      cache,
      new OperatorMetrics({ defaultMetrics: false }),
      log,
    );
    cache.start();
    await cache.waitForSync();
    await until(() => api.selectors.filter((x) => x.startsWith("watch")).length === 3);
    expect(api.selectors.sort()).toEqual([
      "list /api/v1/pods managed-by=us",
      "list /apis/apps/v1/deployments managed-by=us",
      "list /apis/medmlops.io/v1alpha1/medmodels ",
      "watch /api/v1/pods managed-by=us",
      "watch /apis/apps/v1/deployments managed-by=us",
      "watch /apis/medmlops.io/v1alpha1/medmodels ",
    ]);
    const pod = cache.get<KubeObject & { spec?: unknown; status?: unknown }>(Kinds.Pod, {
      namespace: "rad",
      name: "p",
    });
    expect(pod?.spec).toBeUndefined();
    expect(pod?.status).toEqual({ phase: "Running" });
    expect(mapped).toEqual(["a"]);
    await cache.stop();
  });

  it("refuses a second controller asking for a different view of a shared kind", () => {
    const cache = new SharedCache(new FakeApi({}), { log });
    cache.informerFor(Kinds.Pod, { labelSelector: "managed-by=us" });
    expect(() => cache.informerFor(Kinds.Pod)).toThrow(/different label selector/);
    expect(cache.informerFor(Kinds.Pod, { labelSelector: "managed-by=us" })).toBeDefined();
  });

  it("reconciles only the namespaces it is scoped to", async () => {
    const seen: string[] = [];
    const elsewhere = (name: string): KubeObject => ({
      ...parent(name),
      metadata: { ...parent(name).metadata, namespace: "icu" },
    });
    const { cache, controller } = setup(
      async (k) => {
        seen.push(`${k.namespace}/${k.name}`);
        return undefined;
      },
      {
        "/apis/medmlops.io/v1alpha1/medmodels": [parent("a"), elsewhere("b")],
        "/apis/apps/v1/deployments": [],
      },
      new Set(["rad"]),
    );
    cache.start();
    await cache.waitForSync();
    controller.start();
    await until(() => seen.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["rad/a"]);
    expect(controller.queue.len()).toBe(0);
    await controller.stop();
    await cache.stop();
  });

  it("reconciles every listed primary, and the owner of every child event", async () => {
    const seen: string[] = [];
    const { api, cache, controller } = setup(
      async (k) => {
        seen.push(`${k.namespace}/${k.name}`);
        return undefined;
      },
      {
        "/apis/medmlops.io/v1alpha1/medmodels": [parent("a"), parent("b")],
        "/apis/apps/v1/deployments": [],
      },
    );
    cache.start();
    await cache.waitForSync();
    controller.start();
    await until(() => seen.length === 2);
    expect(seen.sort()).toEqual(["rad/a", "rad/b"]);
    api.emit("/apis/apps/v1/deployments", "ADDED", child("a-v1", "a"));
    await until(() => seen.length === 3);
    expect(seen[2]).toBe("rad/a");
    // a child without a controller ref of our kind enqueues nothing
    api.emit("/apis/apps/v1/deployments", "ADDED", {
      ...child("x", "b"),
      metadata: { namespace: "rad", name: "x" },
    });
    api.emit("/apis/apps/v1/deployments", "DELETED", child("a-v1", "a", "2"));
    await until(() => seen.length === 4);
    expect(seen[3]).toBe("rad/a");
    await controller.stop();
    await cache.stop();
  });

  it("never runs one key on two workers at once, and retries failures", async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const { api, cache, controller, metrics } = setup(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (calls <= 2) throw new Error("transient");
        return undefined;
      },
      { "/apis/medmlops.io/v1alpha1/medmodels": [parent("a")] },
    );
    cache.start();
    await cache.waitForSync();
    controller.start();
    for (let i = 0; i < 20; i++) {
      api.emit("/apis/medmlops.io/v1alpha1/medmodels", "MODIFIED", {
        ...parent("a"),
        metadata: { ...parent("a").metadata, resourceVersion: String(10 + i) },
      });
    }
    await until(() => calls >= 3 && controller.queue.len() === 0 && controller.queue.processingCount() === 0);
    expect(maxRunning).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/medmlops_operator_reconcile_total\{controller="medmodel",result="error"\} 2/);
    expect(text).toMatch(/medmlops_operator_workqueue_retries_total\{controller="medmodel"\} 2/);
    await controller.stop();
    await cache.stop();
  });

  it("requeues after the delay the reconciler asks for", async () => {
    let calls = 0;
    const { cache, controller } = setup(
      async () => {
        calls++;
        return { requeueAfterMs: 10 };
      },
      { "/apis/medmlops.io/v1alpha1/medmodels": [parent("a")] },
    );
    cache.start();
    await cache.waitForSync();
    controller.start();
    await until(() => calls >= 4);
    await controller.stop();
    await cache.stop();
  });

  it("reading a kind nobody watches is a clear programming error", () => {
    const { cache } = setup(async () => undefined, {});
    expect(() => cache.get(Kinds.Pod, { namespace: "a", name: "b" })).toThrow(/not watched/);
  });
});
