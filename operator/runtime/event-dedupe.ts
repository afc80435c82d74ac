/**
 * Decides what to do with an Event that may repeat (pure, injected time):
 * - "create": first time (or after the series window closed) — write a new Event;
 * - "series": seen within the window and the last write was ≥ `minSeriesIntervalMs` ago — bump the existing
 *   Event's series count instead of writing a new object;
 * - "drop": a repeat too soon after the last write (the count is still kept and lands with the next write).
 * An overall budget (token bucket: `burst`, refilled at `perSec`) caps creates so a crash loop cannot flood etcd.
 */
export type EventDecision =
  | { action: "create" }
  | { action: "series"; name: string; count: number }
  | { action: "drop" };

interface Entry {
  name: string | undefined;
  firstAt: number;
  lastWriteAt: number;
  count: number;
}

export interface EventDedupeOptions {
  seriesWindowMs?: number;
  minSeriesIntervalMs?: number;
  burst?: number;
  perSec?: number;
  maxEntries?: number;
}

export class EventDeduper {
  private readonly entries = new Map<string, Entry>();
  private tokens: number;
  private lastRefill: number | undefined;
  private readonly o: Required<EventDedupeOptions>;

  constructor(opts: EventDedupeOptions = {}) {
    this.o = {
      seriesWindowMs: opts.seriesWindowMs ?? 10 * 60_000,
      minSeriesIntervalMs: opts.minSeriesIntervalMs ?? 30_000,
      burst: opts.burst ?? 25,
      perSec: opts.perSec ?? 1,
      maxEntries: opts.maxEntries ?? 4096,
    };
    this.tokens = this.o.burst;
  }

  decide(key: string, now: number): EventDecision {
    const e = this.entries.get(key);
    if (e && now - e.firstAt < this.o.seriesWindowMs) {
      e.count++;
      if (e.name && now - e.lastWriteAt >= this.o.minSeriesIntervalMs) {
        e.lastWriteAt = now;
        return { action: "series", name: e.name, count: e.count };
      }
      return { action: "drop" };
    }
    if (!this.take(now)) return { action: "drop" };
    if (this.entries.size >= this.o.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { name: undefined, firstAt: now, lastWriteAt: now, count: 1 });
    return { action: "create" };
  }

  /** Remembers the name the API server gave the created Event, for later series updates. */
  created(key: string, name: string): void {
    const e = this.entries.get(key);
    if (e) e.name = name;
  }

  private take(now: number): boolean {
    if (this.lastRefill !== undefined) {
      this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.o.perSec);
    }
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
