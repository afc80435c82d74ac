/**
 * A Client for controller unit tests that records every write and mirrors applies and deletes into a
 * MemoryCache, as the watch would. Status writes are NOT mirrored: the real cache sees them only after the watch
 * delivers them, and controllers must cope with that lag (StatusWriter). Call `observeStatus` to deliver the
 * last status write of an object to the cache.
 */
import type { Client, GVK, KubeObject, ObjectKey } from "../types.ts";
import type { MemoryCache } from "./memory-cache.ts";

export class RecordingClient implements Client {
  applied: KubeObject[] = [];
  statuses: KubeObject[] = [];
  /** `Kind/name` of every delete. */
  deleted: string[] = [];
  patches: object[] = [];
  /** The last resourceVersion handed out (a counter). */
  rv = 100;

  constructor(private readonly cache: MemoryCache) {}

  async apply<T extends KubeObject = KubeObject>(obj: T): Promise<T> {
    this.applied.push(obj);
    const previous = this.cache.get(
      { group: "", version: "", kind: obj.kind ?? "", plural: "" },
      {
        namespace: obj.metadata?.namespace ?? "",
        name: obj.metadata?.name ?? "",
      },
    );
    const stored = {
      ...structuredClone(obj),
      metadata: {
        ...obj.metadata,
        resourceVersion: String(++this.rv),
        // Like the API server: generation moves only when what was applied changed.
        generation:
          previous && JSON.stringify(withoutMeta(previous)) === JSON.stringify(withoutMeta(obj))
            ? (previous.metadata?.generation ?? 1)
            : (previous?.metadata?.generation ?? 0) + 1,
      },
    };
    this.cache.put(stored);
    return structuredClone(stored) as T;
  }

  async applyStatus<T extends KubeObject = KubeObject>(obj: T): Promise<T> {
    this.statuses.push(obj);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } as T;
  }

  async mergePatch<T extends KubeObject = KubeObject>(_gvk: GVK, _key: ObjectKey, patch: object): Promise<T> {
    this.patches.push(patch);
    return {} as T;
  }

  async get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): Promise<T | undefined> {
    return this.cache.get<T>(gvk, key);
  }

  async delete(gvk: GVK, key: ObjectKey): Promise<boolean> {
    this.deleted.push(`${gvk.kind}/${key.name}`);
    return this.cache.remove(gvk, key);
  }

  /**
   * Delivers the last status written for `key` to the cached object of kind `gvk`, with a newer resourceVersion —
   * what the watch does a moment after a status write.
   */
  observeStatus(gvk: GVK, key: ObjectKey): void {
    const cached = this.cache.get(gvk, key);
    const last = [...this.statuses]
      .reverse()
      .find((s) => s.metadata?.namespace === key.namespace && s.metadata?.name === key.name);
    if (!cached || !last) return;
    this.cache.put({
      ...cached,
      status: last["status"],
      metadata: { ...cached.metadata, resourceVersion: String(++this.rv) },
    });
  }
}

function withoutMeta(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}
