import { describe, expect, it } from "vitest";
import { Kinds, apiVersionOf, collectionPath, gvkId, keyString, objectPath, parseKey } from "./gvk.ts";

describe("gvk helpers", () => {
  it("builds API paths for core, grouped, namespaced and cluster-scoped kinds", () => {
    expect(collectionPath(Kinds.Pod)).toBe("/api/v1/pods");
    expect(collectionPath(Kinds.Pod, "rad")).toBe("/api/v1/namespaces/rad/pods");
    expect(objectPath(Kinds.Deployment, { namespace: "rad", name: "m-v1" })).toBe(
      "/apis/apps/v1/namespaces/rad/deployments/m-v1",
    );
    const Node = { group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false };
    expect(objectPath(Node, { namespace: "", name: "n1" })).toBe("/api/v1/nodes/n1");
    expect(apiVersionOf(Kinds.Service)).toBe("v1");
    expect(gvkId(Kinds.Lease)).toBe("Lease.coordination.k8s.io/v1");
  });

  it("round-trips keys", () => {
    expect(keyString({ namespace: "a", name: "b" })).toBe("a/b");
    expect(parseKey("a/b")).toEqual({ namespace: "a", name: "b" });
    expect(parseKey("n")).toEqual({ namespace: "", name: "n" });
  });
});
