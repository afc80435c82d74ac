import type { Logger } from "pino";
import type { ListerWatcher, WatchEvent } from "./list-watch.ts";
import { exponentialDelay } from "./rate-limit.ts";
import { isGone } from "./rest.ts";
import { type Change, Store } from "./store.ts";
import type { KubeObject } from "./types.ts";

export interface InformerOptions {
  /** Narrows every object before it is cached (CacheView.transform). */
  transform?: (obj: KubeObject) => KubeObject;
  /** Relist this often (± 10 % jitter) and report every object as "resync". Default 10 min. */
  resyncMs?: number;
  /** Restart the watch (and relist) when nothing — no event, no bookmark — arrived for this long. Default 3 min. */
  staleAfterMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  log: Logger;
  /** Called on each restart with why (metric hook). */
  onRestart?: (reason: RestartReason) => void;
}

export type RestartReason = "error" | "gone" | "stale" | "resync" | "closed";

export type ChangeHandler = (change: Change) => void;

/**
 * Keeps a Store in step with the API server for one kind: list, then watch from the list's resourceVersion.
 * Unlike client-node's ListWatch it never gives up: any list or watch error restarts after exponential backoff,
 * 410 Gone (and a watch ERROR event) relists, a watch silent for `staleAfterMs` is torn down and relisted, and a
 * periodic relist corrects anything a watch may have missed.
 */
export class Informer {
  readonly store: Store;
  private readonly handlers: ChangeHandler[] = [];
  private readonly stopCtl = new AbortController();
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  private running: Promise<void> | undefined;
  private readonly resyncMs: number;
  private readonly staleAfterMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    readonly name: string,
    private readonly lw: ListerWatcher,
    private readonly opts: InformerOptions,
  ) {
    this.store = new Store(opts.transform);
    this.resyncMs = opts.resyncMs ?? 10 * 60_000;
    this.staleAfterMs = opts.staleAfterMs ?? 3 * 60_000;
    this.backoffBaseMs = opts.backoffBaseMs ?? 250;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30_000;
  }

  on(handler: ChangeHandler): void {
    this.handlers.push(handler);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.running;
  }

  private emit(changes: Iterable<Change>): void {
    for (const c of changes) {
      for (const h of this.handlers) {
        try {
          h(c);
        } catch (err) {
          this.opts.log.error({ err, informer: this.name }, "informer handler threw");
        }
      }
    }
  }

  private async run(): Promise<void> {
    const log = this.opts.log;
    let resourceVersion = "";
    let nextRelistAt = 0;
    let failures = 0;
    const stop = this.stopCtl.signal;

    while (!stop.aborted) {
      try {
        if (!resourceVersion || Date.now() >= nextRelistAt) {
          const list = await this.lw.list(stop);
          this.emit(this.store.replace(list.items));
          resourceVersion = list.resourceVersion;
          nextRelistAt = Date.now() + this.resyncMs * (0.9 + Math.random() * 0.2);
          if (!this.synced) {
            this.synced = true;
            for (const resolve of this.syncWaiters.splice(0)) resolve();
          }
        }
        const outcome = await this.watchOnce(resourceVersion, nextRelistAt, (rv) => {
          resourceVersion = rv;
          failures = 0;
        });
        if (stop.aborted) break;
        this.opts.onRestart?.(outcome.reason);
        if (outcome.reason === "gone" || outcome.reason === "stale") {
          log.info({ informer: this.name, reason: outcome.reason }, "watch restarting with a relist");
          resourceVersion = "";
        }
        if (outcome.reason === "closed" && !outcome.sawEvent && outcome.durationMs < 1000) {
          // A watch the server closes at once (overload, proxy) must not become a hot loop.
          await this.sleep(exponentialDelay(failures++, this.backoffBaseMs, this.backoffMaxMs));
        }
      } catch (err) {
        if (stop.aborted) break;
        this.opts.onRestart?.(isGone(err) ? "gone" : "error");
        if (isGone(err)) {
          resourceVersion = "";
          continue;
        }
        const delay = exponentialDelay(failures++, this.backoffBaseMs, this.backoffMaxMs);
        log.warn(
          { informer: this.name, err: errorSummary(err), retryInMs: delay },
          "list/watch failed; retrying",
        );
        await this.sleep(delay);
      }
    }
  }

  /** One watch connection; resolves with why it ended. Throws on transport/HTTP errors. */
  private async watchOnce(
    resourceVersion: string,
    relistAt: number,
    progressed: (rv: string) => void,
  ): Promise<{ reason: RestartReason; sawEvent: boolean; durationMs: number }> {
    const ctl = new AbortController();
    const signal = AbortSignal.any([ctl.signal, this.stopCtl.signal]);
    let reason = "closed" as RestartReason;
    let sawEvent = false;
    const started = Date.now();
    const abortFor = (r: RestartReason) => {
      reason = r;
      ctl.abort();
    };
    let staleTimer = setTimeout(() => abortFor("stale"), this.staleAfterMs);
    const resyncTimer = setTimeout(() => abortFor("resync"), Math.max(0, relistAt - Date.now()));
    const onEvent = (ev: WatchEvent) => {
      if (ctl.signal.aborted) return;
      sawEvent = true;
      clearTimeout(staleTimer);
      staleTimer = setTimeout(() => abortFor("stale"), this.staleAfterMs);
      const rv = ev.object?.metadata?.resourceVersion;
      switch (ev.type) {
        case "ADDED":
        case "MODIFIED": {
          const c = this.store.upsert(ev.object);
          if (c) this.emit([c]);
          break;
        }
        case "DELETED": {
          const c = this.store.remove(ev.object);
          if (c) this.emit([c]);
          break;
        }
        case "BOOKMARK":
          break;
        case "ERROR":
          // 410 Gone: our resourceVersion is too old. Anything else: restart the watch the same way.
          abortFor(ev.object.code === 410 ? "gone" : "error");
          return;
      }
      if (rv) progressed(rv);
    };
    try {
      await this.lw.watch(resourceVersion, onEvent, signal);
    } catch (err) {
      if (!ctl.signal.aborted && !this.stopCtl.signal.aborted) throw err;
    } finally {
      clearTimeout(staleTimer);
      clearTimeout(resyncTimer);
      ctl.abort();
    }
    if (reason === "error") throw new Error("watch ERROR event");
    return { reason, sawEvent, durationMs: Date.now() - started };
  }

  private sleep(ms: number): Promise<void> {
    const stop = this.stopCtl.signal;
    return new Promise((resolve) => {
      if (stop.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        stop.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      stop.addEventListener("abort", done, { once: true });
    });
  }
}

/** Error text without response bodies (which could echo object content). */
export function errorSummary(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}
