import { describe, expect, it } from "vitest";
import { Store } from "./store.ts";
import type { KubeObject } from "./types.ts";

const o = (ns: string, name: string, rv: string, labels?: Record<string, string>): KubeObject => ({
  metadata: { namespace: ns, name, resourceVersion: rv, labels },
});

describe("Store", () => {
  it("stores what its transform keeps, after dropping managedFields", () => {
    const seen: KubeObject[] = [];
    const s = new Store((obj) => {
      seen.push(obj);
      return { metadata: obj.metadata };
    });
    const change = s.upsert({
      ...o("a", "1", "1"),
      metadata: { ...o("a", "1", "1").metadata, managedFields: [{ manager: "x" }] },
      spec: { big: true },
    } as KubeObject);
    expect(seen[0]?.metadata).not.toHaveProperty("managedFields");
    expect(change?.object).toEqual({ metadata: { namespace: "a", name: "1", resourceVersion: "1" } });
    expect(s.get("a", "1")).toEqual(change?.object);
  });

  it("lists by namespace and labels", () => {
    const s = new Store();
    s.upsert(o("a", "1", "1", { app: "x", v: "1" }));
    s.upsert(o("a", "2", "1", { app: "x", v: "2" }));
    s.upsert(o("b", "3", "1", { app: "y" }));
    expect(s.list().length).toBe(3);
    expect(s.list({ namespace: "a" }).length).toBe(2);
    expect(s.list({ labels: { app: "x", v: "2" } }).map((x) => x.metadata?.name)).toEqual(["2"]);
    expect(s.list({ namespace: "zzz" })).toEqual([]);
  });

  it("replace reports adds, updates, resyncs and the deletions it missed", () => {
    const s = new Store();
    s.upsert(o("a", "keep", "1"));
    s.upsert(o("a", "change", "1"));
    s.upsert(o("a", "gone", "1"));
    const changes = s.replace([o("a", "keep", "1"), o("a", "change", "2"), o("a", "new", "1")]);
    expect(changes.map((c) => `${c.type}:${c.object.metadata?.name}`).sort()).toEqual([
      "added:new",
      "deleted:gone",
      "resync:keep",
      "updated:change",
    ]);
    expect(s.size()).toBe(3);
  });

  it("ignores an upsert with the same resourceVersion and a remove of an unknown object", () => {
    const s = new Store();
    expect(s.upsert(o("a", "x", "1"))?.type).toBe("added");
    expect(s.upsert(o("a", "x", "1"))).toBeUndefined();
    expect(s.remove(o("a", "y", "1"))).toBeUndefined();
    expect(s.remove(o("a", "x", "2"))?.type).toBe("deleted");
    expect(s.size()).toBe(0);
  });
});

describe("Store memory", () => {
  it("caches objects without metadata.managedFields, leaving the received object untouched", () => {
    const store = new Store();
    const received = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        namespace: "rad",
        name: "p",
        resourceVersion: "1",
        managedFields: [{ manager: "kubelet", operation: "Update" }],
      },
    };
    const change = store.upsert(received);
    expect(change?.object.metadata).not.toHaveProperty("managedFields");
    expect(store.get("rad", "p")?.metadata).toEqual({ namespace: "rad", name: "p", resourceVersion: "1" });
    expect(received.metadata.managedFields).toHaveLength(1);
  });
});
