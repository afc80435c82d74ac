import { describe, expect, it } from "vitest";
import { checkLimit } from "./check-limit.ts";

describe("checkLimit", () => {
  it("runs at most `concurrency`, queues up to `maxQueue` in order, refuses beyond", async () => {
    const l = checkLimit(1, 2);
    const a = l.acquire();
    expect(a).not.toBe("full");
    const order: string[] = [];
    const b = l.acquire();
    const c = l.acquire();
    expect(b).not.toBe("full");
    expect(c).not.toBe("full");
    expect(l.acquire()).toBe("full");
    expect([l.running, l.waiting]).toEqual([1, 2]);
    void (b as Promise<() => void>).then(() => order.push("b"));
    void (c as Promise<() => void>).then(() => order.push("c"));
    const releaseA = await (a as Promise<() => void>);
    await Promise.resolve();
    expect(order).toEqual([]);
    releaseA();
    releaseA(); // idempotent: a second call frees nothing more
    const releaseB = await (b as Promise<() => void>);
    await Promise.resolve();
    expect(order).toEqual(["b"]);
    expect([l.running, l.waiting]).toEqual([1, 1]);
    releaseB();
    (await (c as Promise<() => void>))();
    expect([l.running, l.waiting]).toEqual([0, 0]);
    expect(l.acquire()).not.toBe("full");
  });

  it("maxQueue 0 refuses whenever every slot is busy; concurrency 2 runs two", async () => {
    const l = checkLimit(2, 0);
    const r1 = await (l.acquire() as Promise<() => void>);
    await (l.acquire() as Promise<() => void>);
    expect(l.acquire()).toBe("full");
    r1();
    expect(l.acquire()).not.toBe("full");
  });

  it("a waiter that gives up (its signal aborts) leaves the queue at once and never takes a slot", async () => {
    const l = checkLimit(1, 1);
    const releaseA = await (l.acquire() as Promise<() => void>);
    const gaveUp = new AbortController();
    const b = l.acquire(gaveUp.signal) as Promise<() => void>;
    expect([l.running, l.waiting]).toEqual([1, 1]);
    expect(l.acquire()).toBe("full");
    gaveUp.abort(new Error("timed out"));
    await expect(b).rejects.toThrow("timed out");
    // Its place is free at once: the next request queues instead of being refused, and gets the slot after A.
    expect(l.waiting).toBe(0);
    const c = l.acquire();
    expect(c).not.toBe("full");
    releaseA();
    const releaseC = await (c as Promise<() => void>);
    expect([l.running, l.waiting]).toEqual([1, 0]);
    releaseC();
    expect([l.running, l.waiting]).toEqual([0, 0]);
  });

  it("an already aborted signal takes nothing; aborting after the slot was granted changes nothing", async () => {
    const l = checkLimit(1, 1);
    await expect(l.acquire(AbortSignal.abort(new Error("late"))) as Promise<unknown>).rejects.toThrow("late");
    expect([l.running, l.waiting]).toEqual([0, 0]);
    const ac = new AbortController();
    const release = await (l.acquire(ac.signal) as Promise<() => void>);
    ac.abort();
    expect(l.running).toBe(1);
    release();
    expect(l.running).toBe(0);
  });

  it("rejects nonsense limits", () => {
    expect(() => checkLimit(0, 1)).toThrow();
    expect(() => checkLimit(1, -1)).toThrow();
  });
});
