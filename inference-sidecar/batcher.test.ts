import { describe, expect, it } from "vitest";
import { Batcher, type Clock } from "./batcher.ts";

/** A manual clock: time moves only when the test says so. */
function fakeClock() {
  let t = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const clock: Clock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: t + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      const i = timers.findIndex((x) => x.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const advance = async (ms: number) => {
    t += ms;
    for (const due of timers.filter((x) => x.at <= t)) {
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
    await new Promise((r) => setImmediate(r));
  };
  return { clock, advance };
}

/** A batcher of numbers that waits up to 5 ms for `incoming` requests and records every batch it runs. */
function arrivalBatcher(maxBatchSize: number, incoming: () => number, clock: Clock, runs: number[][]) {
  return new Batcher<number, number>({
    maxBatchSize,
    maxQueueDelayMs: 0,
    arrivalWaitMs: 5,
    incoming,
    size: () => 1,
    key: () => "",
    clock,
    run: async (xs) => {
      runs.push(xs);
      return xs;
    },
  });
}

type Item = { n: number; key?: string; v: number };

function make(maxBatchSize: number, maxQueueDelayMs: number, clock?: Clock) {
  const runs: Item[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const b = new Batcher<Item, number>({
    maxBatchSize,
    maxQueueDelayMs,
    size: (i) => i.n,
    key: (i) => i.key ?? "",
    clock,
    run: async (items) => {
      runs.push(items);
      if (hold) await new Promise<void>((r) => (release = r));
      return items.map((i) => i.v * 10);
    },
  });
  return { b, runs, hold: (h: boolean) => (hold = h), release: () => release?.() };
}

describe("Batcher", () => {
  it("with delay 0 runs a lone request at once", async () => {
    const { b, runs } = make(8, 0);
    expect(await b.submit({ n: 1, v: 1 })).toBe(10);
    expect(runs).toHaveLength(1);
  });

  it("waits up to the queue delay, then runs what arrived as one batch", async () => {
    const { clock, advance } = fakeClock();
    const { b, runs } = make(8, 5, clock);
    const p = [b.submit({ n: 1, v: 1 }), b.submit({ n: 2, v: 2 })];
    await advance(4);
    expect(runs).toHaveLength(0);
    p.push(b.submit({ n: 1, v: 3 }));
    await advance(1);
    expect(await Promise.all(p)).toEqual([10, 20, 30]);
    expect(runs.map((r) => r.map((i) => i.v))).toEqual([[1, 2, 3]]);
  });

  it("dispatches as soon as the batch is full, before the delay", async () => {
    const { clock } = fakeClock();
    const { b, runs } = make(4, 1000, clock);
    const p = [1, 2, 3, 4, 5].map((v) => b.submit({ n: 1, v }));
    await new Promise((r) => setImmediate(r));
    expect(runs.map((r) => r.length)).toEqual([4]);
    expect(await Promise.all(p.slice(0, 4))).toEqual([10, 20, 30, 40]);
  });

  it("queues while a batch runs and takes up to max batch size next, FIFO", async () => {
    const { b, runs, hold, release } = make(3, 0);
    hold(true);
    const first = b.submit({ n: 1, v: 0 });
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3, 4, 5].map((v) => b.submit({ n: 1, v }));
    expect(b.queued).toBe(5);
    hold(false);
    release();
    await Promise.all([first, ...rest]);
    expect(runs.map((r) => r.map((i) => i.v))).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it("never mixes keys and never splits a request; an oversized request runs alone", async () => {
    const { b, runs, hold, release } = make(4, 0);
    hold(true);
    const first = b.submit({ n: 1, v: 0 });
    await new Promise((r) => setImmediate(r));
    const rest = [
      b.submit({ n: 2, v: 1, key: "a" }),
      b.submit({ n: 2, v: 2, key: "b" }),
      b.submit({ n: 3, v: 3, key: "a" }),
      b.submit({ n: 9, v: 4, key: "a" }),
      b.submit({ n: 1, v: 5, key: "a" }),
    ];
    hold(false);
    release();
    await Promise.all([first, ...rest]);
    // 1 (2 items) is packed with 5 (1 item); 3 (3 items) would overflow and leads the next "a" batch.
    expect(runs.map((r) => r.map((i) => i.v))).toEqual([[0], [1, 5], [2], [3], [4]]);
  });

  it("fails every request of a failed batch and keeps serving", async () => {
    let fail = true;
    const b = new Batcher<number, number>({
      maxBatchSize: 4,
      maxQueueDelayMs: 0,
      size: () => 1,
      key: () => "",
      run: async (xs) => {
        if (fail) throw new Error("boom");
        return xs;
      },
    });
    await expect(b.submit(1)).rejects.toThrow("boom");
    fail = false;
    expect(await b.submit(2)).toBe(2);
  });

  it("waits for requests still arriving, bounded, and goes when they are in", async () => {
    const { clock, advance } = fakeClock();
    let incoming = 2;
    const runs: number[][] = [];
    const b = arrivalBatcher(8, () => incoming, clock, runs);
    const p1 = b.submit(1);
    await advance(1);
    expect(runs).toHaveLength(0);
    incoming = 1;
    const p2 = b.submit(2);
    await advance(1);
    expect(runs).toHaveLength(0);
    incoming = 0;
    const p3 = b.submit(3);
    expect(await Promise.all([p1, p2, p3])).toEqual([1, 2, 3]);
    expect(runs).toEqual([[1, 2, 3]]);
    // A request that never arrives delays a batch by at most arrivalWaitMs (counted from when the runner is free).
    await new Promise((r) => setImmediate(r));
    incoming = 1;
    const p4 = b.submit(4);
    await advance(4);
    expect(runs).toHaveLength(1);
    await advance(2);
    expect(await p4).toBe(4);
    expect(runs).toHaveLength(2);
  });

  it("after a full batch, a straggler waits (bounded) for the next requests instead of running alone", async () => {
    const { clock, advance } = fakeClock();
    const runs: number[][] = [];
    let incoming = 1;
    const b = arrivalBatcher(2, () => incoming, clock, runs);
    await Promise.all([b.submit(1), b.submit(2)]);
    incoming = 0;
    await new Promise((r) => setImmediate(r));
    const p3 = b.submit(3);
    await advance(2);
    expect(runs).toHaveLength(1);
    const p4 = b.submit(4);
    expect(await Promise.all([p3, p4])).toEqual([3, 4]);
    expect(runs).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // Nobody else comes: the straggler runs alone after arrivalWaitMs; that batch is not full, so the next
    // lone request does not wait at all.
    await new Promise((r) => setImmediate(r));
    const p5 = b.submit(5);
    await advance(4);
    expect(runs).toHaveLength(2);
    await advance(2);
    expect(await p5).toBe(5);
    await new Promise((r) => setImmediate(r));
    expect(await b.submit(6)).toBe(6);
    expect(runs).toEqual([[1, 2], [3, 4], [5], [6]]);
  });
});
