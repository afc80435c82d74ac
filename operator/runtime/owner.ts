import { keyOf } from "./gvk.ts";
import type { GVK, KubeObject, ObjectKey, OwnerReference } from "./types.ts";

/**
 * A controller owner reference to `owner` (which must carry apiVersion, kind, metadata.name and uid, as cached
 * objects do): the garbage collector deletes the child when the owner goes, and blockOwnerDeletion lets
 * foreground deletion wait for it.
 */
export function ownerReference(owner: KubeObject): OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid) {
    throw new Error("ownerReference: owner needs apiVersion, kind, metadata.name and metadata.uid");
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The controller ownerReference of `obj`, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * The key of the owner of kind `ownerGvk` controlling `obj` (owners live in the child's namespace), or undefined.
 * Matches on kind and API group (not version), as controller-runtime's EnqueueRequestForOwner does.
 */
export function ownerKey(obj: KubeObject, ownerGvk: GVK): ObjectKey | undefined {
  const ref = controllerOf(obj);
  if (!ref || ref.kind !== ownerGvk.kind) return undefined;
  const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
  if (group !== ownerGvk.group) return undefined;
  return { namespace: keyOf(obj).namespace, name: ref.name };
}
