/**
 * Dynamic batching. Requests queue; a batch leaves when it holds `maxBatchSize` items, when its oldest request
 * has waited `maxQueueDelayMs`, or at once when delay is 0. One batch runs at a time (onnxruntime already
 * uses every core), so under load the queue fills while the previous batch runs and batches grow by
 * themselves; at low load a lone request pays no wait. Only requests with the same key (shape after dim 0)
 * share a batch. The clock is injected so the policy is testable without real time.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` after pending I/O callbacks (setImmediate); absent = run synchronously. */
  defer?(fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  defer: (fn) => setImmediate(fn),
};

export interface BatcherOptions<I, O> {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Items a request contributes (its dim 0). */
  size: (item: I) => number;
  key: (item: I) => string;
  run: (items: I[]) => Promise<O[]>;
  clock?: Clock;
  /**
   * Requests known to be on their way (headers in, body still arriving). While there are some and the batch
   * is not full, the batch waits for them — at most `arrivalWaitMs` beyond the queue delay (default: a quarter
   * of the recent batch run time, between 2 and 100 ms: waiting is worth it when a run is long compared to it).
   */
  incoming?: () => number;
  arrivalWaitMs?: number;
  /**
   * Runs block the event loop (onnxruntime on the main thread): requests that arrived during a run are still
   * unread socket data when it ends, so one I/O phase is let through before the next batch is cut. With the
   * inference worker the loop reads them during the run and the batch is cut at once.
   */
  runsBlockEventLoop?: boolean;
  /** Called once per batch, for metrics. */
  onBatch?: (info: { items: number; requests: number; queueMs: number[] }) => void;
}

interface Pending<I, O> {
  item: I;
  size: number;
  key: string;
  enqueuedAt: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = false;
  /** When the last run ended, and whether it was a full batch (a sign of load). */
  private freeAt = Number.NEGATIVE_INFINITY;
  private lastBatchFull = false;
  /** Exponentially weighted mean of batch run times, ms. */
  private runMs = 0;
  private timer: unknown;
  private deferred = false;
  /** An I/O phase has run since the current batch became due (reset at each dispatch). */
  private ioPhasePassed = false;
  private readonly clock: Clock;

  constructor(private readonly opts: BatcherOptions<I, O>) {
    if (!(opts.maxBatchSize >= 1)) throw new RangeError("maxBatchSize must be >= 1");
    this.clock = opts.clock ?? realClock;
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.running;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({
        item,
        size: this.opts.size(item),
        key: this.opts.key(item),
        enqueuedAt: this.clock.now(),
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  /** Re-evaluates the queue, e.g. when an incoming request finished arriving or was abandoned. */
  poke(): void {
    this.schedule();
  }

  /** Decides whether to dispatch now or arm a timer for the oldest request's deadline. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const head = this.queue[0] as Pending<I, O>;
    const ready = this.collect(head.key);
    const waited = this.clock.now() - head.enqueuedAt;
    if (ready.items >= this.opts.maxBatchSize) {
      this.dispatch();
      return;
    }
    const arrivalWait = this.opts.arrivalWaitMs ?? Math.min(100, Math.max(2, this.runMs / 4));
    // Waiting for more only pays under load: requests are being received, or the last batch was full (its
    // clients are about to send again). Counted from when the runner became free, not from enqueue: a
    // request that waited through a whole run must not be cut into a batch of its own.
    const sinceFree = this.clock.now() - Math.max(head.enqueuedAt + this.opts.maxQueueDelayMs, this.freeAt);
    const more = (this.opts.incoming?.() ?? 0) > 0 || this.lastBatchFull;
    if (waited >= this.opts.maxQueueDelayMs && more && sinceFree < arrivalWait) {
      // A fuller batch costs less than running twice.
      if (this.timer === undefined) {
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, 1);
      }
      return;
    }
    if (waited >= this.opts.maxQueueDelayMs) {
      // When a run blocked the event loop, requests that arrived meanwhile are still unread socket data: let
      // one I/O phase deliver them before cutting the batch. After that phase, decide again: requests whose
      // headers it delivered now count as incoming.
      if (!this.opts.runsBlockEventLoop || !this.clock.defer || this.ioPhasePassed) {
        this.dispatch();
      } else if (!this.deferred) {
        this.deferred = true;
        this.clock.defer(() => {
          this.deferred = false;
          this.ioPhasePassed = true;
          this.schedule();
        });
      }
      return;
    }
    if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.opts.maxQueueDelayMs - waited);
    }
  }

  /** Indices of queued requests that fit one batch with the head's key, FIFO. */
  private collect(key: string): { indices: number[]; items: number } {
    const indices: number[] = [];
    let items = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.queue[i] as Pending<I, O>;
      if (p.key !== key) continue;
      // Skip (not stop at) a request that does not fit: smaller ones behind it may; it leads a later batch.
      if (items > 0 && items + p.size > this.opts.maxBatchSize) continue;
      indices.push(i);
      items += p.size;
      if (items >= this.opts.maxBatchSize) break;
    }
    return { indices, items };
  }

  private dispatch(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.ioPhasePassed = false;
    const head = this.queue[0] as Pending<I, O>;
    const { indices, items } = this.collect(head.key);
    const batch = indices.map((i) => this.queue[i] as Pending<I, O>);
    for (let k = indices.length - 1; k >= 0; k--) this.queue.splice(indices[k] as number, 1);
    this.running = true;
    const now = this.clock.now();
    this.opts.onBatch?.({ items, requests: batch.length, queueMs: batch.map((p) => now - p.enqueuedAt) });
    let promise: Promise<O[]>;
    try {
      promise = this.opts.run(batch.map((p) => p.item));
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise
      .then(
        (outs) => {
          if (outs.length !== batch.length)
            throw new Error(`batch of ${batch.length} returned ${outs.length} results`);
          for (let i = 0; i < batch.length; i++) (batch[i] as Pending<I, O>).resolve(outs[i] as O);
        },
        (e) => {
          for (const p of batch) p.reject(e);
        },
      )
      .catch((e) => {
        for (const p of batch) p.reject(e);
      })
      .finally(() => {
        this.running = false;
        this.freeAt = this.clock.now();
        this.lastBatchFull = items >= this.opts.maxBatchSize && this.opts.maxBatchSize > 1;
        const ms = this.clock.now() - now;
        this.runMs = this.runMs === 0 ? ms : 0.8 * this.runMs + 0.2 * ms;
        this.schedule();
      });
  }
}
