import type { Clock } from "./clock.ts";

/** Exponential backoff: base · 2^(attempt), capped at max. attempt 0 → base. Pure. */
export function exponentialDelay(attempt: number, baseMs: number, maxMs: number): number {
  if (attempt < 0) return 0;
  // 2^attempt overflows to Infinity beyond ~1024; Math.min handles it.
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

/** Per-key failure counter: the n-th consecutive failure of a key waits base·2^(n-1), up to max. */
export class ItemBackoff {
  private failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 5 * 60_000,
  ) {}
  /** Records one more failure and returns how long to wait before the retry. */
  next(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return exponentialDelay(n, this.baseMs, this.maxMs);
  }
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * Overall token bucket (client-go's default: 10 per second, burst 100). `reserve()` takes a token and returns the
 * wait until it is valid — tokens may go negative, so a storm of retries is spread out instead of dropped.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly clock: Clock,
    readonly ratePerSec = 10,
    readonly burst = 100,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSec) * 1000);
  }
}
