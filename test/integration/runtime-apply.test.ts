// The runtime's write side against the real API server: server-side apply is idempotent, status goes through
// the /status subresource, owner references let the garbage collector remove children, Events appear.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplyClient } from "../../operator/runtime/client.ts";
import { setCondition } from "../../operator/runtime/conditions.ts";
import { KubeEventRecorder } from "../../operator/runtime/events.ts";
import { Kinds } from "../../operator/runtime/gvk.ts";
import { ownerReference } from "../../operator/runtime/owner.ts";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import { RestMapper } from "../../operator/runtime/rest-mapper.ts";
import { statusBody } from "../../operator/runtime/status.ts";
import { Widget, ensureWidgetCrd } from "../../operator/runtime/testing/widget-crd.ts";
import { FIELD_MANAGER, type KubeObject } from "../../operator/runtime/types.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig, waitFor } from "../cluster/client.ts";

const log = pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
let ns: FreshNamespace;
let rest: RestClient;
let client: ApplyClient;

beforeAll(async () => {
  rest = restClientFromKubeConfig(testKubeConfig());
  await ensureWidgetCrd(rest);
  ns = await freshNamespace("rt-apply");
  client = new ApplyClient(rest, new RestMapper(rest));
});

afterAll(async () => {
  await ns?.delete();
});

function configMap(name: string, data: Record<string, string>, owner?: KubeObject): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: ns.name,
      labels: { "app.kubernetes.io/managed-by": "medmlops" },
      ...(owner ? { ownerReferences: [ownerReference(owner)] } : {}),
    },
    data,
  };
}

describe("server-side apply", () => {
  it("creates, then a second identical apply changes nothing (same resourceVersion)", async () => {
    const first = await client.apply<KubeObject>(configMap("ssa", { a: "1" }));
    const second = await client.apply<KubeObject>(configMap("ssa", { a: "1" }));
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const managers =
      (first.metadata?.["managedFields"] as Array<{ manager: string; operation: string }>) ?? [];
    expect(managers.some((m) => m.manager === FIELD_MANAGER && m.operation === "Apply")).toBe(true);
  });

  it("removes fields it applied before and now leaves out, and forces over other managers", async () => {
    await client.apply<KubeObject>(configMap("ssa2", { a: "1", b: "2" }));
    // someone else takes field "a" with a merge patch
    await rest.request("PATCH", `/api/v1/namespaces/${ns.name}/configmaps/ssa2`, {
      contentType: "application/merge-patch+json",
      query: { fieldManager: "kubectl-edit" },
      body: { data: { a: "hand-edited" } },
    });
    const out = await client.apply<KubeObject>(configMap("ssa2", { a: "1" }));
    expect(out["data"]).toEqual({ a: "1" });
  });

  it("writes status through the status subresource without touching spec, stamping observedGeneration", async () => {
    const created = await client.apply<KubeObject>({
      apiVersion: "runtime-test.medmlops.io/v1",
      kind: "Widget",
      metadata: { name: "w1", namespace: ns.name },
      spec: { size: 1 },
    });
    expect(created.metadata?.generation).toBe(1);
    const conditions = setCondition(
      [],
      { type: "Ready", status: "True", reason: "Reconciled", message: "all children applied" },
      new Date(),
    );
    const written = await client.applyStatus<KubeObject>(
      statusBody(created, { phase: "Ready", conditions }, { succeeded: true }),
    );
    expect(written["status"]).toMatchObject({ observedGeneration: 1, phase: "Ready" });
    expect(written["spec"]).toEqual({ size: 1 });
    expect(written.metadata?.generation).toBe(1); // status writes do not bump generation

    // a failed reconcile keeps the old observedGeneration even after the spec moved on
    const bumped = await client.apply<KubeObject>({
      apiVersion: "runtime-test.medmlops.io/v1",
      kind: "Widget",
      metadata: { name: "w1", namespace: ns.name },
      spec: { size: 2 },
    });
    expect(bumped.metadata?.generation).toBe(2);
    const failed = await client.applyStatus<KubeObject>(
      statusBody(bumped, { phase: "Degraded", conditions }, { succeeded: false }),
    );
    expect(failed["status"]).toMatchObject({ observedGeneration: 1, phase: "Degraded" });
    // a status-only apply must not be able to change spec
    const sneaky = await client.applyStatus<KubeObject>({
      ...statusBody(bumped, { phase: "X" }, { succeeded: true }),
      spec: { size: 99 },
    });
    expect(sneaky["spec"]).toEqual({ size: 2 });
  });

  it("get returns undefined on 404, delete reports whether something was deleted", async () => {
    expect(await client.get(Kinds.ConfigMap, { namespace: ns.name, name: "nope" })).toBeUndefined();
    await client.apply<KubeObject>(configMap("gone-soon", { a: "1" }));
    expect(await client.delete(Kinds.ConfigMap, { namespace: ns.name, name: "gone-soon" })).toBe(true);
    expect(await client.delete(Kinds.ConfigMap, { namespace: ns.name, name: "gone-soon" })).toBe(false);
  });

  it("children with a controller owner reference are garbage-collected with their owner", async () => {
    const owner = await client.apply<KubeObject>({
      apiVersion: "runtime-test.medmlops.io/v1",
      kind: "Widget",
      metadata: { name: "owner", namespace: ns.name },
      spec: { size: 1 },
    });
    const child = await client.apply<KubeObject>(configMap("owned-child", { a: "1" }, owner));
    expect(child.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Widget", controller: true });
    await client.delete(Widget, { namespace: ns.name, name: "owner" });
    await waitFor(
      async () =>
        (await client.get(Kinds.ConfigMap, { namespace: ns.name, name: "owned-child" })) === undefined,
      60_000,
      500,
    );
  });
});

describe("events", () => {
  it("writes events.k8s.io/v1 Events regarding an object, and dedupes repeats", async () => {
    const owner = await client.apply<KubeObject>({
      apiVersion: "runtime-test.medmlops.io/v1",
      kind: "Widget",
      metadata: { name: "evented", namespace: ns.name },
      spec: { size: 1 },
    });
    const recorder = new KubeEventRecorder(rest, "test-instance", log);
    recorder.record(
      owner,
      "Warning",
      "Failover",
      "SwitchService",
      "serving version v2 unavailable; now serving v1",
    );
    recorder.record(
      owner,
      "Warning",
      "Failover",
      "SwitchService",
      "serving version v2 unavailable; now serving v1",
    );
    recorder.record(owner, "Normal", "Suspended", "Suspend", "stop button pressed");
    await recorder.flush();
    const list = await rest.request<{ items: KubeObject[] }>(
      "GET",
      `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
      { query: { fieldSelector: `regarding.name=evented` } },
    );
    const reasons = list.items.map((e) => e["reason"]).sort();
    expect(reasons).toEqual(["Failover", "Suspended"]);
    const failover = list.items.find((e) => e["reason"] === "Failover")!;
    expect(failover).toMatchObject({
      type: "Warning",
      action: "SwitchService",
      reportingController: "medmlops.io/operator",
      reportingInstance: "test-instance",
      regarding: { kind: "Widget", name: "evented", uid: owner.metadata?.uid },
    });
  });
});
