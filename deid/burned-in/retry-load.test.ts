import { describe, expect, it } from "vitest";
import { textDetector, loadDetectorSession } from "./detector.ts";
import { backoffMs, loadDecision, retryingLoad } from "./retry-load.ts";

describe("loadDecision / backoffMs", () => {
  it("loads when idle, reuses a load under way or done, fails fast inside the backoff, retries after it", () => {
    expect(loadDecision({ kind: "idle" }, 0)).toBe("load");
    expect(loadDecision({ kind: "loading" }, 0)).toBe("reuse");
    const failed = { kind: "failed", at: 10_000, failures: 1 } as const;
    expect(loadDecision(failed, 10_999)).toBe("fail");
    expect(loadDecision(failed, 11_000)).toBe("load");
    expect(loadDecision({ ...failed, failures: 3 }, 13_999)).toBe("fail");
    expect(loadDecision({ ...failed, failures: 3 }, 14_000)).toBe("load");
  });

  it("doubles per consecutive failure up to the cap", () => {
    expect([1, 2, 3, 4, 7, 8, 100].map((n) => backoffMs(n))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
    expect(backoffMs(3, { initialMs: 10, maxMs: 25 })).toBe(25);
  });
});

describe("retryingLoad", () => {
  it("a failed load is not cached forever: it is retried after the backoff, and a success is kept", async () => {
    let t = 0;
    let calls = 0;
    const outcomes = [new Error("EIO 1"), new Error("EIO 2"), "session"];
    const get = retryingLoad(
      async () => {
        const o = outcomes[calls++];
        if (o instanceof Error) throw o;
        return o as string;
      },
      { now: () => t },
    );
    await expect(get()).rejects.toThrow("EIO 1");
    await expect(get()).rejects.toThrow("EIO 1"); // inside the backoff: the last error, no new load
    expect(calls).toBe(1);
    t = 1000;
    await expect(get()).rejects.toThrow("EIO 2");
    expect(calls).toBe(2);
    t = 2999; // second failure: 2 s
    await expect(get()).rejects.toThrow("EIO 2");
    expect(calls).toBe(2);
    t = 3000;
    expect(await get()).toBe("session");
    t = 1e9;
    expect(await get()).toBe("session");
    expect(calls).toBe(3);
  });

  it("concurrent uses share one load; a synchronous throw counts as a failure", async () => {
    let calls = 0;
    let open: (v: number) => void = () => {};
    const get = retryingLoad(() => {
      calls++;
      return new Promise<number>((r) => (open = r));
    });
    const [a, b] = [get(), get()];
    await Promise.resolve();
    open(7);
    expect([await a, await b, calls]).toEqual([7, 7, 1]);
    const thrower = retryingLoad(
      () => {
        throw new Error("sync");
      },
      { now: () => 0 },
    );
    await expect(thrower()).rejects.toThrow("sync");
  });
});

describe("textDetector (the PP-OCRv4 session)", () => {
  it("recovers from a failed session load after the backoff and then detects with the real model", async () => {
    let t = 0;
    let loads = 0;
    const detect = textDetector({
      load: async () => {
        loads++;
        if (loads === 1) throw new Error("ENOMEM: cannot allocate the session");
        return loadDetectorSession();
      },
      now: () => t,
    });
    const blank = new Uint8Array(64 * 64).fill(128);
    await expect(detect(blank, 64, 64)).rejects.toThrow(/ENOMEM/);
    await expect(detect(blank, 64, 64)).rejects.toThrow(/ENOMEM/);
    expect(loads).toBe(1);
    t = 1000;
    expect(await detect(blank, 64, 64)).toEqual([]);
    expect(await detect(blank, 64, 64)).toEqual([]);
    expect(loads).toBe(2);
  }, 60_000);
});
