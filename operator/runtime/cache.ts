import type { Logger } from "pino";
import { gvkId } from "./gvk.ts";
import { Informer, type InformerOptions, type RestartReason } from "./informer.ts";
import { restListerWatcher } from "./list-watch.ts";
import type { RestClient } from "./rest.ts";
import type { Cache, CacheView, GVK, KubeObject, ListOptions, ObjectKey } from "./types.ts";

export interface SharedCacheOptions {
  /** Watch only this namespace (namespaced kinds); undefined = all namespaces. */
  namespace?: string;
  log: Logger;
  informer?: Omit<InformerOptions, "log" | "onRestart" | "transform">;
  /** Metric hook: an informer of `kind` restarted its list/watch. */
  onRestart?: (kind: string, reason: RestartReason) => void;
}

/**
 * One informer per kind, shared by every controller: the read side of the runtime. Kinds must be registered
 * (`informerFor`) before `start()`; reading an unregistered kind is a programming error and throws.
 */
export class SharedCache implements Cache {
  private readonly informers = new Map<string, { gvk: GVK; informer: Informer; view: CacheView }>();
  private started = false;

  constructor(
    private readonly rest: RestClient,
    private readonly opts: SharedCacheOptions,
  ) {}

  /**
   * The informer of a kind, created on first use with `view` (label selector, transform). Every later caller must
   * ask for the same view: one informer serves all controllers, and a controller that silently got a narrower
   * view than it asked for would miss objects.
   */
  informerFor(gvk: GVK, requested: CacheView = {}): Informer {
    // {labelSelector: undefined} and {} are the same view.
    const view: CacheView = {
      ...(requested.labelSelector ? { labelSelector: requested.labelSelector } : {}),
      ...(requested.transform ? { transform: requested.transform } : {}),
    };
    const id = gvkId(gvk);
    const existing = this.informers.get(id);
    if (existing) {
      if (existing.view.labelSelector !== view.labelSelector || existing.view.transform !== view.transform) {
        throw new Error(`cache: ${id} is already watched with a different label selector or transform`);
      }
      return existing.informer;
    }
    const lw = restListerWatcher(this.rest, gvk, {
      namespace: gvk.namespaced === false ? undefined : this.opts.namespace,
      ...(view.labelSelector ? { labelSelector: view.labelSelector } : {}),
    });
    const onRestart = this.opts.onRestart;
    const informer = new Informer(id, lw, {
      ...this.opts.informer,
      log: this.opts.log,
      ...(view.transform ? { transform: view.transform } : {}),
      ...(onRestart ? { onRestart: (reason: RestartReason) => onRestart(gvk.kind, reason) } : {}),
    });
    this.informers.set(id, { gvk, informer, view });
    if (this.started) informer.start();
    return informer;
  }

  kinds(): GVK[] {
    return [...this.informers.values()].map((e) => e.gvk);
  }

  start(): void {
    this.started = true;
    for (const { informer } of this.informers.values()) informer.start();
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((e) => e.informer.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((e) => e.informer.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((e) => e.informer.stop()));
  }

  get<T extends KubeObject = KubeObject>(gvk: GVK, key: ObjectKey): T | undefined {
    return this.require(gvk).store.get(key.namespace, key.name) as T | undefined;
  }

  list<T extends KubeObject = KubeObject>(gvk: GVK, opts?: ListOptions): T[] {
    return this.require(gvk).store.list(opts) as T[];
  }

  private require(gvk: GVK): Informer {
    const entry = this.informers.get(gvkId(gvk));
    if (!entry) {
      throw new Error(`cache: ${gvkId(gvk)} is not watched; add it to the controller's for/owns/watches`);
    }
    return entry.informer;
  }
}
