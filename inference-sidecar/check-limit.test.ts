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

  it("rejects nonsense limits", () => {
    expect(() => checkLimit(0, 1)).toThrow();
    expect(() => checkLimit(1, -1)).toThrow();
  });
});
