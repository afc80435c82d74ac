// The runtime's informer against the real API server: create/update/delete arrive, and the informer recovers by
// itself when its connections are reset or silently hang (through a TCP proxy that breaks them on demand).
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kinds } from "../../operator/runtime/gvk.ts";
import { Informer, type RestartReason } from "../../operator/runtime/informer.ts";
import { restListerWatcher } from "../../operator/runtime/list-watch.ts";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import type { Change } from "../../operator/runtime/store.ts";
import { TcpProxy } from "../../operator/runtime/testing/tcp-proxy.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig, waitFor } from "../cluster/client.ts";

const log = pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
let ns: FreshNamespace;
let rest: RestClient;
const informers: Informer[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  ns = await freshNamespace("rt-informer");
  rest = restClientFromKubeConfig(testKubeConfig());
});

afterAll(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  await Promise.all(proxies.map((p) => p.close()));
  await ns?.delete();
});

function cmPath(name?: string): string {
  return `/api/v1/namespaces/${ns.name}/configmaps${name ? `/${name}` : ""}`;
}

async function createCm(name: string, data: Record<string, string> = { k: "v" }): Promise<void> {
  await rest.request("POST", cmPath(), {
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data },
  });
}

/** A kubeconfig that reaches the API server through a fresh TcpProxy. */
async function proxiedKubeConfig(): Promise<{ kc: KubeConfig; proxy: TcpProxy }> {
  const base = testKubeConfig();
  const server = new URL(base.getCurrentCluster()!.server);
  const proxy = new TcpProxy(server.hostname, Number(server.port));
  proxies.push(proxy);
  const port = await proxy.listen();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...base.getCurrentCluster()!, server: `https://127.0.0.1:${port}` }],
    users: [base.getCurrentUser()!],
    contexts: [
      { name: "proxied", cluster: base.getCurrentCluster()!.name, user: base.getCurrentUser()!.name },
    ],
    currentContext: "proxied",
  });
  return { kc, proxy };
}

function startInformer(r: RestClient, opts: { staleAfterMs?: number } = {}) {
  const changes: Change[] = [];
  const restarts: RestartReason[] = [];
  const inf = new Informer("configmaps", restListerWatcher(r, Kinds.ConfigMap, { namespace: ns.name }), {
    log,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    staleAfterMs: opts.staleAfterMs,
    onRestart: (why) => restarts.push(why),
  });
  inf.on((c) => changes.push(c));
  informers.push(inf);
  inf.start();
  return { inf, changes, restarts };
}

describe("informer on the real API server", () => {
  it("lists existing objects, then sees create, update and delete", async () => {
    await createCm("before-start");
    const { inf, changes } = startInformer(rest);
    await inf.waitForSync();
    expect(inf.store.get(ns.name, "before-start")?.kind).toBe("ConfigMap");

    await createCm("a");
    await waitFor(() => inf.store.get(ns.name, "a"), 10_000);
    await rest.request("PATCH", cmPath("a"), {
      contentType: "application/merge-patch+json",
      body: { data: { k: "changed" } },
    });
    await waitFor(() => (inf.store.get(ns.name, "a")?.["data"] as { k?: string })?.k === "changed", 10_000);
    await rest.request("DELETE", cmPath("a"));
    await waitFor(() => inf.store.get(ns.name, "a") === undefined, 10_000);

    const forA = changes.filter((c) => c.object.metadata?.name === "a").map((c) => c.type);
    expect(forA).toEqual(["added", "updated", "deleted"]);
  });

  it("recovers after its connections are reset and catches up on what happened meanwhile", async () => {
    const { kc, proxy } = await proxiedKubeConfig();
    const { inf, restarts } = startInformer(restClientFromKubeConfig(kc));
    await inf.waitForSync();
    await createCm("watch-up"); // seen only through the watch: proves the watch connection is established
    await waitFor(() => inf.store.get(ns.name, "watch-up"), 10_000);
    expect(proxy.connections()).toBeGreaterThan(0);
    proxy.reset();
    await createCm("while-reset"); // written directly, not through the proxy
    await waitFor(() => inf.store.get(ns.name, "while-reset"), 20_000);
    expect(restarts.length).toBeGreaterThan(0);
    // …and keeps watching afterwards.
    await createCm("after-reset");
    await waitFor(() => inf.store.get(ns.name, "after-reset"), 20_000);
  });

  it("detects a watch that went silent, restarts it and relists", async () => {
    const { kc, proxy } = await proxiedKubeConfig();
    const { inf, restarts } = startInformer(restClientFromKubeConfig(kc), { staleAfterMs: 2_000 });
    await inf.waitForSync();
    await createCm("watch-is-live"); // seen only through the watch: proves the watch connection is established
    await waitFor(() => inf.store.get(ns.name, "watch-is-live"), 10_000);
    proxy.freeze(); // the watch connection stays open but nothing arrives any more
    await createCm("while-frozen");
    await waitFor(() => inf.store.get(ns.name, "while-frozen"), 20_000);
    expect(restarts).toContain("stale");
  });
});
