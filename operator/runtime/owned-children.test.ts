import { describe, expect, it } from "vitest";
import { Kinds } from "./gvk.ts";
import { childMark, controlledBy, listOwned, OwnedChildren } from "./owned-children.ts";
import { MemoryCache } from "./testing/memory-cache.ts";
import { RecordingClient } from "./testing/recording-client.ts";
import type { KubeObject } from "./types.ts";

const owner = {
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  metadata: { name: "chest", namespace: "rad", uid: "uid-1" },
};
const primary = { namespace: "rad", name: "chest" };
const ref = (uid: string, controller = true) => ({
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  name: "chest",
  uid,
  controller,
});

function child(name: string, data: Record<string, string> = { a: "1" }, uid = "uid-1"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: "rad",
      labels: { "medmlops.io/model": "chest" },
      ownerReferences: [ref(uid)],
    },
    data,
  };
}

function setup() {
  const cache = new MemoryCache();
  const client = new RecordingClient(cache);
  return { cache, client, children: new OwnedChildren(cache, client) };
}

describe("OwnedChildren.apply", () => {
  it("applies new children and skips them while unchanged on both sides", async () => {
    const { client, children } = setup();
    expect(await children.apply(primary, [[child("a"), Kinds.ConfigMap]])).toBe(1);
    expect(await children.apply(primary, [[child("a"), Kinds.ConfigMap]])).toBe(0);
    expect(client.applied).toHaveLength(1);
  });

  it("re-applies when what we want changed", async () => {
    const { client, children } = setup();
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    await children.apply(primary, [[child("a", { a: "2" }), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(2);
  });

  it("does not mistake a different key order for a change", async () => {
    const { client, children } = setup();
    await children.apply(primary, [[child("a", { x: "1", y: "2" }), Kinds.ConfigMap]]);
    await children.apply(primary, [[child("a", { y: "2", x: "1" }), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(1);
  });

  it("re-applies when someone else changed the child (its generation moved) or deleted it", async () => {
    const { cache, client, children } = setup();
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    const live = cache.get(Kinds.ConfigMap, { namespace: "rad", name: "a" })!;
    cache.put({ ...live, data: { a: "edited" }, metadata: { ...live.metadata, generation: 2 } });
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(2);
    cache.remove(Kinds.ConfigMap, { namespace: "rad", name: "a" });
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(3);
  });

  it("uses resourceVersion as the mark for objects without a generation (ConfigMaps, Services)", async () => {
    const { cache, client, children } = setup();
    // As the API server answers for a ConfigMap: no metadata.generation at all.
    const apply = client.apply.bind(client);
    client.apply = async <T extends KubeObject>(o: T): Promise<T> => {
      const stored = await apply(o);
      const { generation: _g, ...metadata } = stored.metadata ?? {};
      cache.put({ ...stored, metadata });
      return { ...stored, metadata } as T;
    };
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(1);
    const live = cache.get(Kinds.ConfigMap, { namespace: "rad", name: "a" })!;
    cache.put({ ...live, metadata: { ...live.metadata, resourceVersion: "9999" } });
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    expect(client.applied).toHaveLength(2);
  });

  it("marks by generation when there is one, else by resourceVersion", () => {
    expect(childMark({ metadata: { generation: 2, resourceVersion: "7" } })).toBe("g2");
    expect(childMark({ metadata: { resourceVersion: "7" } })).toBe("r7");
    expect(childMark(undefined)).toBeUndefined();
  });

  it("forgets a primary's memos when it is gone, and only its own", async () => {
    const { children } = setup();
    await children.apply(primary, [[child("a"), Kinds.ConfigMap]]);
    await children.apply({ namespace: "rad", name: "other" }, [[child("b"), Kinds.ConfigMap]]);
    expect(children.size()).toBe(2);
    children.forget(primary);
    expect(children.size()).toBe(1);
  });
});

describe("owner filter", () => {
  it("accepts only a controller reference to this uid", () => {
    expect(controlledBy("uid-1")(child("a"))).toBe(true);
    expect(controlledBy("uid-1")(child("a", {}, "uid-old"))).toBe(false);
    const notController = {
      ...child("a"),
      metadata: { ...child("a").metadata, ownerReferences: [ref("uid-1", false)] },
    };
    expect(controlledBy("uid-1")(notController)).toBe(false);
    expect(controlledBy("")({ metadata: { ownerReferences: [{ ...ref(""), uid: "" }] } })).toBe(false);
  });

  it("lists only the owner's children in its namespace", () => {
    const { cache } = setup();
    cache.put(child("mine"));
    cache.put(child("previous-incarnation", {}, "uid-old"));
    cache.put({ ...child("elsewhere"), metadata: { ...child("elsewhere").metadata, namespace: "other" } });
    const names = listOwned(cache, Kinds.ConfigMap, owner, { labels: { "medmlops.io/model": "chest" } }).map(
      (o) => o.metadata?.name,
    );
    expect(names).toEqual(["mine"]);
  });
});

describe("OwnedChildren.prune", () => {
  it("deletes the owner's children that are not kept, never another owner's, and forgets their memos", async () => {
    const { cache, client, children } = setup();
    await children.apply(primary, [
      [child("keep"), Kinds.ConfigMap],
      [child("stale"), Kinds.ConfigMap],
    ]);
    cache.put(child("not-ours", {}, "uid-old"));
    const deleted = await children.prune(
      primary,
      owner,
      Kinds.ConfigMap,
      {},
      (o) => o.metadata?.name === "keep",
    );
    expect(deleted).toEqual(["stale"]);
    expect(client.deleted).toEqual(["ConfigMap/stale"]);
    expect(children.size()).toBe(1);
  });

  it("deleteOwned leaves an object another owner controls alone", async () => {
    const { cache, client, children } = setup();
    cache.put(child("route", {}, "uid-old"));
    expect(
      await children.deleteOwned(primary, owner, Kinds.ConfigMap, { namespace: "rad", name: "route" }),
    ).toBe(false);
    cache.put(child("route"));
    expect(
      await children.deleteOwned(primary, owner, Kinds.ConfigMap, { namespace: "rad", name: "route" }),
    ).toBe(true);
    expect(client.deleted).toEqual(["ConfigMap/route"]);
  });
});
