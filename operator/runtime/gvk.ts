import type { GVK, KubeObject, ObjectKey } from "./types.ts";

/** Built-in kinds the operator reads or writes. */
export const Kinds = {
  Deployment: { group: "apps", version: "v1", kind: "Deployment", plural: "deployments" },
  ReplicaSet: { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets" },
  Service: { group: "", version: "v1", kind: "Service", plural: "services" },
  ConfigMap: { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps" },
  Pod: { group: "", version: "v1", kind: "Pod", plural: "pods" },
  PodDisruptionBudget: {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
  },
  Job: { group: "batch", version: "v1", kind: "Job", plural: "jobs" },
  Event: { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events" },
  Lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases" },
} as const satisfies Record<string, GVK>;

/** "apps/v1", or "v1" for the core group. */
export function apiVersionOf(gvk: GVK): string {
  return gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/** "Deployment.apps/v1": a readable, unique id of a kind (used as the cache map key and in logs). */
export function gvkId(gvk: GVK): string {
  return `${gvk.kind}.${apiVersionOf(gvk)}`;
}

/** The collection path, e.g. /apis/apps/v1/namespaces/ns/deployments (namespace omitted: all namespaces). */
export function collectionPath(gvk: GVK, namespace?: string): string {
  const base = gvk.group === "" ? `/api/${gvk.version}` : `/apis/${gvk.group}/${gvk.version}`;
  const namespaced = gvk.namespaced !== false;
  const ns = namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${gvk.plural}`;
}

export function objectPath(gvk: GVK, key: ObjectKey): string {
  return `${collectionPath(gvk, key.namespace)}/${encodeURIComponent(key.name)}`;
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

/** "namespace/name" (or "name" when cluster-scoped) — the work-queue string key. */
export function keyString(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

export function parseKey(s: string): ObjectKey {
  const i = s.indexOf("/");
  return i < 0 ? { namespace: "", name: s } : { namespace: s.slice(0, i), name: s.slice(i + 1) };
}
