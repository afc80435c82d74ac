/**
 * Applying and pruning a primary object's children — the part of every reconcile that is the same for each
 * controller:
 *
 *   const children = new OwnedChildren(cache, client);            // once per controller
 *   await children.apply(key, [[deployment, Kinds.Deployment], …]); // server-side apply, skips unchanged
 *   await children.prune(key, owner, Kinds.Deployment, { labels }, (d) => wanted.has(d.metadata.name));
 *   children.forget(key);                                          // when the primary object is gone
 *
 * The skip-unchanged memo: a resync reconciles every object every few minutes, and re-applying unchanged
 * children would cost one PATCH each. A child is skipped when what we would send hashes the same as what we last
 * sent AND the cached child still carries the mark the server answered then — its `generation` when it has one
 * (status writes by other controllers do not bump it; a spec edit by someone else does, and we re-apply), else
 * its `resourceVersion`. A child missing from the cache is always applied.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";
import { keyString } from "./gvk.ts";
import type { Cache, Client, GVK, KubeObject, ListOptions, ObjectKey } from "./types.ts";

interface Memo {
  hash: string;
  mark: string | undefined;
}

/** True for objects whose controller owner reference names the object with this uid. */
export function controlledBy(ownerUid: string): (obj: KubeObject) => boolean {
  return (obj) =>
    ownerUid !== "" &&
    (obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === ownerUid);
}

/**
 * The cached objects of `gvk` in the owner's namespace (and with `labels`) that the owner controls. Labels alone
 * are not enough: a model deleted and re-created under the same name leaves children of the old uid behind for
 * the garbage collector, and another tool may label its objects like ours.
 */
export function listOwned<T extends KubeObject = KubeObject>(
  cache: Cache,
  gvk: GVK,
  owner: KubeObject,
  opts: Omit<ListOptions, "namespace"> = {},
): T[] {
  const namespace = owner.metadata?.namespace ?? "";
  return cache.list<T>(gvk, { ...opts, namespace }).filter(controlledBy(owner.metadata?.uid ?? ""));
}

/** What the skip-unchanged memo compares with the cache: generation when the object has one, else resourceVersion. */
export function childMark(obj: KubeObject | undefined): string | undefined {
  if (obj === undefined) return undefined;
  const generation = obj.metadata?.generation;
  return generation !== undefined ? `g${generation}` : `r${obj.metadata?.resourceVersion ?? ""}`;
}

export function childDigest(obj: KubeObject): string {
  return createHash("sha256").update(canonicalJson(obj)).digest("hex");
}

export class OwnedChildren {
  /** Per primary object (work key), per child (`Kind/namespace/name`), what we last applied. */
  private readonly memos = new Map<string, Map<string, Memo>>();

  constructor(
    private readonly cache: Cache,
    private readonly client: Client,
  ) {}

  /**
   * Applies every child (all at once: a pod whose ConfigMap is not there yet waits for the kubelet to mount it,
   * so ordering would only add a round trip). Returns how many were actually sent.
   */
  async apply(primary: ObjectKey, children: readonly (readonly [KubeObject, GVK])[]): Promise<number> {
    const sent = await Promise.all(children.map(([child, gvk]) => this.applyOne(primary, child, gvk)));
    return sent.filter(Boolean).length;
  }

  private async applyOne(primary: ObjectKey, child: KubeObject, gvk: GVK): Promise<boolean> {
    const key = { namespace: child.metadata?.namespace ?? "", name: child.metadata?.name ?? "" };
    const id = `${gvk.kind}/${key.namespace}/${key.name}`;
    const hash = childDigest(child);
    const memos = this.memosOf(primary);
    const seen = memos.get(id);
    const cached = this.cache.get(gvk, key);
    if (seen && cached && seen.hash === hash && seen.mark === childMark(cached)) return false;
    const result = await this.client.apply(child);
    memos.set(id, { hash, mark: childMark(result) });
    return true;
  }

  /**
   * Deletes the cached children of `gvk` that `owner` controls and `keep` rejects (e.g. versions removed from the
   * spec), and forgets their memos. Objects another owner controls are never touched. Returns the deleted names.
   */
  async prune(
    primary: ObjectKey,
    owner: KubeObject,
    gvk: GVK,
    opts: Omit<ListOptions, "namespace">,
    keep: (obj: KubeObject) => boolean,
  ): Promise<string[]> {
    const deleted: string[] = [];
    for (const obj of listOwned(this.cache, gvk, owner, opts)) {
      if (keep(obj)) continue;
      const key = { namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
      await this.client.delete(gvk, key);
      this.memos.get(keyString(primary))?.delete(`${gvk.kind}/${key.namespace}/${key.name}`);
      deleted.push(key.name);
    }
    return deleted;
  }

  /** Deletes one child if `owner` controls it (e.g. a route the spec no longer asks for). */
  async deleteOwned(primary: ObjectKey, owner: KubeObject, gvk: GVK, key: ObjectKey): Promise<boolean> {
    const existing = this.cache.get(gvk, key);
    if (!existing || !controlledBy(owner.metadata?.uid ?? "")(existing)) return false;
    await this.client.delete(gvk, key);
    this.memos.get(keyString(primary))?.delete(`${gvk.kind}/${key.namespace}/${key.name}`);
    return true;
  }

  /** The primary object is gone (its children go by garbage collection): drop its memos. */
  forget(primary: ObjectKey): void {
    this.memos.delete(keyString(primary));
  }

  /** How many children are remembered, over all primaries (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const m of this.memos.values()) n += m.size;
    return n;
  }

  private memosOf(primary: ObjectKey): Map<string, Memo> {
    const id = keyString(primary);
    let m = this.memos.get(id);
    if (!m) {
      m = new Map();
      this.memos.set(id, m);
    }
    return m;
  }
}
