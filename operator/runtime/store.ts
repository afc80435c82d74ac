import type { KubeObject, ListOptions } from "./types.ts";

export type ChangeType = "added" | "updated" | "deleted" | "resync";

export interface Change {
  type: ChangeType;
  object: KubeObject;
  /** The cached object this one replaced (updated) or the last known state (deleted). */
  old?: KubeObject;
}

/**
 * The in-memory copy of one kind, indexed by namespace then name. Pure: every mutation returns the changes it
 * made so the informer can hand them to event handlers. Objects are stored as received (never mutate them).
 */
export class Store {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();

  /** `transform` narrows every object before it is stored (CacheView.transform). */
  constructor(private readonly transform?: (obj: KubeObject) => KubeObject) {}

  get(namespace: string, name: string): KubeObject | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  size(): number {
    let n = 0;
    for (const m of this.byNamespace.values()) n += m.size;
    return n;
  }

  list(opts: ListOptions = {}): KubeObject[] {
    const maps =
      opts.namespace !== undefined ? [this.byNamespace.get(opts.namespace)] : [...this.byNamespace.values()];
    const out: KubeObject[] = [];
    for (const m of maps) {
      if (!m) continue;
      for (const obj of m.values()) if (matchesLabels(obj, opts.labels)) out.push(obj);
    }
    return out;
  }

  /**
   * Adds or replaces; no change (undefined) when the cached copy has the same resourceVersion. The cached copy
   * leaves out `metadata.managedFields`: no controller reads it (server-side apply computes ownership on the
   * server) and it is often the larger half of a Pod or Deployment — the cache's memory grows with every model.
   */
  upsert(received: KubeObject): Change | undefined {
    const lean = withoutManagedFields(received);
    const obj = this.transform ? this.transform(lean) : lean;
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    let m = this.byNamespace.get(ns);
    if (!m) {
      m = new Map();
      this.byNamespace.set(ns, m);
    }
    const old = m.get(name);
    if (
      old &&
      old.metadata?.resourceVersion === obj.metadata?.resourceVersion &&
      obj.metadata?.resourceVersion
    ) {
      return undefined;
    }
    m.set(name, obj);
    return old ? { type: "updated", object: obj, old } : { type: "added", object: obj };
  }

  remove(obj: KubeObject): Change | undefined {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    const m = this.byNamespace.get(ns);
    const old = m?.get(name);
    if (!m || !old) return undefined;
    m.delete(name);
    if (m.size === 0) this.byNamespace.delete(ns);
    return { type: "deleted", object: obj, old };
  }

  /**
   * Makes the store equal to a fresh list: objects missing from it are deleted (their deletion was missed while
   * the watch was down), new or changed ones added/updated, unchanged ones reported as "resync" so controllers
   * reconcile everything periodically (level-triggered).
   */
  replace(items: readonly KubeObject[]): Change[] {
    const changes: Change[] = [];
    const seen = new Set<string>();
    for (const obj of items) {
      seen.add(`${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`);
      changes.push(this.upsert(obj) ?? { type: "resync", object: obj });
    }
    for (const [ns, m] of [...this.byNamespace]) {
      for (const [name, obj] of [...m]) {
        if (!seen.has(`${ns}/${name}`)) {
          const c = this.remove(obj);
          if (c) changes.push(c);
        }
      }
    }
    return changes;
  }
}

export function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!obj.metadata || !("managedFields" in obj.metadata)) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata as Record<string, unknown>;
  return { ...obj, metadata } as KubeObject;
}

export function matchesLabels(obj: KubeObject, labels?: Record<string, string>): boolean {
  if (!labels) return true;
  const have = obj.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (have[k] !== v) return false;
  return true;
}
