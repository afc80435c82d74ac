/**
 * Loading something once (the text detector's onnxruntime session), where a failure must not be final: a load that
 * failed is retried on a later use, after a backoff that doubles per consecutive failure (1 s, 2 s, 4 s … 60 s), and
 * uses inside the backoff fail at once with the last error instead of loading again (no retry storm under load).
 * A success is kept for good. `loadDecision` is the pure rule; `retryingLoad` holds the state, with an injected
 * clock.
 */

export interface LoadPolicy {
  /** Backoff after the first failure, ms. */
  initialMs: number;
  /** Longest backoff, ms. */
  maxMs: number;
}

export const DEFAULT_LOAD_POLICY: LoadPolicy = { initialMs: 1000, maxMs: 60_000 };

/** What the loader knows: nothing yet, a load under way or done, or the last failure. */
export type LoadState =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "failed"; at: number; failures: number };

/** Backoff after `failures` consecutive failures (≥ 1). */
export function backoffMs(failures: number, policy: LoadPolicy = DEFAULT_LOAD_POLICY): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/** "reuse": wait for the load under way (or done); "load": start one; "fail": inside the backoff, answer the last error. */
export function loadDecision(
  state: LoadState,
  now: number,
  policy: LoadPolicy = DEFAULT_LOAD_POLICY,
): "reuse" | "load" | "fail" {
  if (state.kind === "loading") return "reuse";
  if (state.kind === "idle") return "load";
  return now >= state.at + backoffMs(state.failures, policy) ? "load" : "fail";
}

/** A getter that loads on first use, keeps a success, and retries a failure after its backoff. */
export function retryingLoad<T>(
  load: () => Promise<T>,
  opts: { now?: () => number; policy?: LoadPolicy } = {},
): () => Promise<T> {
  const now = opts.now ?? Date.now;
  const policy = opts.policy ?? DEFAULT_LOAD_POLICY;
  let state: LoadState = { kind: "idle" };
  let current: Promise<T> | undefined;
  let lastError: unknown;
  return () => {
    const decision = loadDecision(state, now(), policy);
    if (decision === "reuse") return current as Promise<T>;
    if (decision === "fail") return Promise.reject(lastError);
    const failures = state.kind === "failed" ? state.failures : 0;
    state = { kind: "loading" };
    current = Promise.resolve()
      .then(load)
      .catch((err: unknown) => {
        lastError = err;
        state = { kind: "failed", at: now(), failures: failures + 1 };
        throw err;
      });
    return current;
  };
}
