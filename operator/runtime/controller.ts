import type { Logger } from "pino";
import type { SharedCache } from "./cache.ts";
import { keyOf, keyString, parseKey } from "./gvk.ts";
import { errorSummary } from "./informer.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { ownerKey } from "./owner.ts";
import type { Change } from "./store.ts";
import type { ControllerSpec, GVK, KubeObject, ObjectKey } from "./types.ts";
import { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";

/**
 * Runs one ControllerSpec: maps informer changes to primary keys in a WorkQueue, and runs `workers` loops that
 * reconcile one key at a time each. Event handlers are attached at construction (before the cache starts) so the
 * initial list enqueues every existing object; workers start only on `start()` (after sync and leadership).
 */
export class Controller {
  readonly queue: WorkQueue;
  private readonly stopCtl = new AbortController();
  private workers: Promise<void>[] = [];
  private readonly log: Logger;

  constructor(
    readonly spec: ControllerSpec,
    private readonly cache: SharedCache,
    private readonly metrics: OperatorMetrics,
    log: Logger,
    queueOptions: WorkQueueOptions = {},
    /** Namespaces this controller reconciles; undefined = all. Keys elsewhere are dropped before queueing. */
    private readonly namespaces?: ReadonlySet<string>,
  ) {
    this.log = log.child({ controller: spec.name });
    this.queue = new WorkQueue(queueOptions);
    metrics.trackQueue(spec.name, () => this.queue.len());

    cache.informerFor(spec.for).on((c) => this.enqueue(keyOf(c.object)));
    for (const owned of spec.owns ?? []) this.watchOwned(owned);
    for (const w of spec.watches ?? []) {
      cache.informerFor(w.gvk, { labelSelector: w.labelSelector, transform: w.transform }).on((c) => {
        for (const obj of objectsOf(c)) {
          try {
            for (const key of w.map(obj)) this.enqueue(key);
          } catch (err) {
            this.log.error({ err: errorSummary(err), kind: w.gvk.kind }, "watch map function threw");
          }
        }
      });
    }
  }

  /** Watches a child kind: an event on a child enqueues its controller owner of kind `spec.for`. */
  watchOwned(gvk: GVK): void {
    this.cache.informerFor(gvk, this.spec.ownedView ?? {}).on((c) => {
      for (const obj of objectsOf(c)) {
        const key = ownerKey(obj, this.spec.for);
        if (key) this.enqueue(key);
      }
    });
  }

  enqueue(key: ObjectKey): void {
    if (!key.name) return;
    if (this.namespaces && !this.namespaces.has(key.namespace)) return;
    this.metrics.queueAdds.inc({ controller: this.spec.name });
    this.queue.add(keyString(key));
  }

  start(): void {
    if (this.workers.length > 0) return;
    const n = Math.max(1, this.spec.workers ?? 2);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
    this.log.info({ workers: n }, "controller started");
  }

  /** Stops handing out keys, aborts in-flight reconciles' signal after `graceMs`, and waits for workers. */
  async stop(graceMs = 10_000): Promise<void> {
    this.queue.shutDown();
    const timer = setTimeout(() => this.stopCtl.abort(), graceMs);
    await Promise.all(this.workers);
    clearTimeout(timer);
    this.stopCtl.abort();
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const name = this.spec.name;
    const queuedMs = this.queue.takeQueuedMs(key);
    if (queuedMs !== undefined) this.metrics.queueLatency.observe({ controller: name }, queuedMs / 1000);
    const started = performance.now();
    const objectKey = parseKey(key);
    const log = this.log.child({ namespace: objectKey.namespace, name: objectKey.name });
    try {
      const result = await this.spec.reconciler.reconcile(objectKey, {
        signal: this.stopCtl.signal,
        log,
        now: () => new Date(),
      });
      this.queue.forget(key);
      const after = result?.requeueAfterMs;
      if (after !== undefined && after >= 0) {
        this.queue.addAfter(key, after);
        this.metrics.reconcileTotal.inc({ controller: name, result: "requeue" });
      } else {
        this.metrics.reconcileTotal.inc({ controller: name, result: "success" });
      }
    } catch (err) {
      const delay = this.queue.addRateLimited(key);
      this.metrics.reconcileTotal.inc({ controller: name, result: "error" });
      this.metrics.queueRetries.inc({ controller: name });
      log.warn(
        { err: errorSummary(err), retryInMs: delay, retries: this.queue.numRequeues(key) },
        "reconcile failed",
      );
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.reconcileDuration.observe({ controller: name }, seconds);
      this.metrics.workDuration.observe({ controller: name }, seconds);
      this.queue.done(key);
    }
  }
}

/** Both the new and (on update) the old object: an owner or label change must reach both owners. */
function objectsOf(c: Change): KubeObject[] {
  return c.type === "updated" && c.old ? [c.object, c.old] : [c.object];
}
