import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.ts";
import { WorkQueue } from "./work-queue.ts";

function setup(opts: { ratePerSec?: number; burst?: number } = {}) {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, ...opts });
  return { clock, q };
}

describe("WorkQueue", () => {
  it("dedupes a key while it waits", async () => {
    const { q } = setup();
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBe("ns/b");
    expect(q.len()).toBe(0);
  });

  it("never hands one key to two workers: re-adds while processing wait for done()", async () => {
    const { q } = setup();
    q.add("ns/a");
    const first = await q.get();
    expect(first).toBe("ns/a");
    q.add("ns/a");
    q.add("ns/a");
    expect(q.len()).toBe(0); // deferred, not queued
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done("ns/a");
    await Promise.resolve();
    expect(second).toBe("ns/a");
    expect(q.processingCount()).toBe(1);
  });

  it("done() without re-adds does not requeue", async () => {
    const { q } = setup();
    q.add("k");
    await q.get();
    q.done("k");
    expect(q.len()).toBe(0);
    expect(q.processingCount()).toBe(0);
  });

  it("a waiting get() is woken by add()", async () => {
    const { q } = setup();
    const p = q.get();
    q.add("k");
    expect(await p).toBe("k");
  });

  it("addAfter delays and keeps the earliest pending delay per key", async () => {
    const { q, clock } = setup();
    q.addAfter("k", 1000);
    q.addAfter("k", 5000); // later: ignored
    q.addAfter("k", 300); // earlier: replaces
    expect(q.delayedCount()).toBe(1);
    clock.advance(299);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(10_000);
    expect(q.len()).toBe(1); // the replaced timers did not fire again
    expect(await q.get()).toBe("k");
  });

  it("addAfter with zero delay adds now", () => {
    const { q } = setup();
    q.addAfter("k", 0);
    expect(q.len()).toBe(1);
  });

  it("addRateLimited backs off exponentially per key from 5 ms to 5 min, forget() resets", () => {
    const { q } = setup();
    const delays = Array.from({ length: 20 }, () => q.addRateLimited("k"));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays.at(-1)).toBe(300_000);
    expect(Math.max(...delays)).toBe(300_000);
    expect(q.numRequeues("k")).toBe(20);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
    expect(q.addRateLimited("k")).toBe(5);
    // other keys have their own history
    expect(q.addRateLimited("other")).toBe(5);
  });

  it("the overall token bucket spreads a burst of retries across keys", () => {
    const { q, clock } = setup({ ratePerSec: 10, burst: 3 });
    const delays = ["a", "b", "c", "d", "e"].map((k) => q.addRateLimited(k));
    expect(delays).toEqual([5, 5, 5, 100, 200]);
    clock.advance(1000); // refills up to the burst
    expect(q.addRateLimited("f")).toBe(5);
  });

  it("shutDown wakes waiting workers with undefined, stops delayed adds, drained() waits for in-flight work", async () => {
    const { q, clock } = setup();
    q.add("a");
    expect(await q.get()).toBe("a");
    const idle = q.get();
    q.addAfter("b", 100);
    q.shutDown();
    expect(await idle).toBeUndefined();
    expect(await q.get()).toBeUndefined();
    clock.advance(1000);
    expect(q.len()).toBe(0);
    q.add("c");
    expect(q.len()).toBe(0);
    let drained = false;
    const d = q.drained().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done("a");
    await d;
    expect(drained).toBe(true);
  });

  it("reports how long a key waited in the queue", async () => {
    const { q, clock } = setup();
    q.add("k");
    clock.advance(250);
    await q.get();
    expect(q.takeQueuedMs("k")).toBe(250);
    expect(q.takeQueuedMs("k")).toBeUndefined();
  });
});
