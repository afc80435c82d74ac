/**
 * Bound on the burned-in text checks the DataToModel gate runs at once. The detector is CPU-heavy (about 400 ms
 * median, 900 ms p90 per frame on two shared cores), so at most `concurrency` checks run and at most `maxQueue`
 * more wait in order; a request arriving when the queue is full is refused at once (503 DEID_BUSY with
 * Retry-After) instead of piling up behind the others. A waiter whose request gave up (its `signal` aborted, e.g.
 * the request timed out) leaves the queue at once and never takes a slot, so `waiting` counts only requests that
 * still want an answer. Pure: no timers, no I/O.
 */
export interface CheckLimit {
  /**
   * A release function once a slot is free, or "full" when `maxQueue` requests already wait. With `signal`: if it
   * aborts while waiting, the promise rejects with its reason and the place in the queue is given up.
   */
  acquire(signal?: AbortSignal): Promise<() => void> | "full";
  readonly running: number;
  readonly waiting: number;
}

/** Defaults: one check at a time (the sidecar shares its cores with the model), eight waiting. */
export const CHECK_CONCURRENCY = 1;
export const CHECK_MAX_QUEUE = 8;

export function checkLimit(concurrency = CHECK_CONCURRENCY, maxQueue = CHECK_MAX_QUEUE): CheckLimit {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error("concurrency must be ≥ 1");
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) throw new Error("maxQueue must be ≥ 0");
  let running = 0;
  const waiters: (() => void)[] = [];
  const release = (): (() => void) => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = waiters.shift();
      if (next) next();
      else running--;
    };
  };
  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (running < concurrency) {
        running++;
        return Promise.resolve(release());
      }
      if (waiters.length >= maxQueue) return "full";
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const i = waiters.indexOf(grant);
          if (i >= 0) waiters.splice(i, 1);
          reject(signal?.reason);
        };
        const grant = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release());
        };
        waiters.push(grant);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiters.length;
    },
  };
}
