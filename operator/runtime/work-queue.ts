import { type Clock, realClock } from "./clock.ts";
import { ItemBackoff, TokenBucket } from "./rate-limit.ts";

export interface WorkQueueOptions {
  clock?: Clock;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  ratePerSec?: number;
  burst?: number;
}

/**
 * A rate-limited, delaying work queue of string keys, with client-go's guarantees:
 * - a key waiting in the queue is there once, however often it is added (dedupe);
 * - a key is handed to at most one worker at a time: adds while it is processing are remembered and the key is
 *   queued again when `done(key)` is called;
 * - `addRateLimited` retries with per-key exponential backoff and an overall token bucket;
 * - `addAfter` requeues after a delay (the earliest pending delay per key wins).
 * After `shutDown()` no key is handed out any more; `drained()` resolves when in-flight work has finished.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly backoff: ItemBackoff;
  private readonly bucket: TokenBucket;
  private shuttingDown = false;
  /** Time each key entered the queue (for the queue-latency metric). */
  private readonly addedAt = new Map<string, number>();

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.backoff = new ItemBackoff(opts.backoffBaseMs ?? 5, opts.backoffMaxMs ?? 5 * 60_000);
    this.bucket = new TokenBucket(this.clock, opts.ratePerSec ?? 10, opts.burst ?? 100);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // deferred until done(key)
    this.push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { at, handle });
  }

  /** Requeue after a failure: max(per-key exponential backoff, overall token bucket). Returns the delay used. */
  addRateLimited(key: string): number {
    const delay = Math.max(this.backoff.next(key), this.bucket.reserve());
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure history (call after a successful reconcile). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** Resolves with the next key (marking it processing), or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Milliseconds the key waited in the queue before `get` handed it out (undefined when unknown). */
  takeQueuedMs(key: string): number | undefined {
    const t = this.addedAt.get(key);
    this.addedAt.delete(key);
    return t === undefined ? undefined : this.clock.now() - t;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** Keys waiting to be handed out (not counting delayed ones or those processing). */
  len(): number {
    return this.queue.length;
  }

  processingCount(): number {
    return this.processing.size;
  }

  delayedCount(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { handle } of this.waiting.values()) this.clock.clearTimeout(handle);
    this.waiting.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  /** Resolves once no key is processing (call after shutDown to let in-flight reconciles finish). */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.addedAt.set(key, this.clock.now());
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.addedAt.set(key, this.clock.now());
  }

  private pop(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
