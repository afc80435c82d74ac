/**
 * An in-memory Cache for controller unit tests: put objects in, the reconciler reads them as it would read the
 * informer cache. Objects are stored as deep copies by kind, namespace and name (the API group is not part of the
 * key: tests use one kind per name). No label-selector view and no transform — give it what the informer would
 * hold.
 */
import type { Cache, GVK, KubeObject, ListOptions, ObjectKey } from "../types.ts";

export class MemoryCache implements Cache {
  private readonly objects = new Map<string, KubeObject>();

  private static id(kind: string, namespace: string | undefined, name: string | undefined): string {
    return `${kind}/${namespace ?? ""}/${name ?? ""}`;
  }

  /** Stores a copy of `obj` under its own kind (obj.kind must be set). */
  put(obj: KubeObject): void {
    if (!obj.kind) throw new Error("MemoryCache.put: object needs a kind");
    this.objects.set(
      MemoryCache.id(obj.kind, obj.metadata?.namespace, obj.metadata?.name),
      structuredClone(obj),
    );
  }

  remove(gvk: GVK, key: ObjectKey): boolean {
    return this.objects.delete(MemoryCache.id(gvk.kind, key.namespace, key.name));
  }

  clear(): void {
    this.objects.clear();
  }

  get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): T | undefined {
    return this.objects.get(MemoryCache.id(gvk.kind, key.namespace, key.name)) as T | undefined;
  }

  list<T extends KubeObject = KubeObject>(gvk: GVK, opts: ListOptions = {}): T[] {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${gvk.kind}/`))
      .map(([, o]) => o as T)
      .filter((o) => !opts.namespace || o.metadata?.namespace === opts.namespace)
      .filter((o) => Object.entries(opts.labels ?? {}).every(([k, v]) => o.metadata?.labels?.[k] === v));
  }
}
