import { describe, expect, it } from "vitest";
import { BufferPool, isOwned, markOwned } from "./owned-buffers.ts";

const KiB = 1024;

describe("BufferPool: recycled owned memory", () => {
  it("hands out owned buffers of at least the asked size, rounded to 64 KiB when large", () => {
    const pool = new BufferPool(16 * 1024 * KiB);
    const big = pool.take(602_112 + 7);
    expect(isOwned(big)).toBe(true);
    expect(big.byteLength).toBe(640 * KiB);
    const small = pool.take(100);
    expect(isOwned(small)).toBe(true);
    expect(small.byteLength).toBe(100);
  });

  it("reuses a given buffer for the next request of about that size, not for a much smaller one", () => {
    const pool = new BufferPool(16 * 1024 * KiB);
    const a = pool.take(600 * KiB);
    pool.give(a);
    expect(pool.bytes).toBe(a.byteLength);
    expect(pool.take(200 * KiB)).not.toBe(a);
    expect(pool.take(590 * KiB)).toBe(a);
    expect(pool.bytes).toBe(0);
  });

  it("recycle detaches the old views, so they read as empty, and the memory comes back with its bytes", () => {
    const pool = new BufferPool(16 * 1024 * KiB);
    const buffer = pool.take(128 * KiB);
    const view = new Uint8Array(buffer, 10, 5);
    view.set([1, 2, 3, 4, 5]);
    pool.recycle(buffer);
    expect(view.length).toBe(0);
    expect(buffer.byteLength).toBe(0);
    const again = pool.take(128 * KiB);
    // The same memory under a new ArrayBuffer object: its old bytes are still there (no zeroing, no copy).
    expect([...new Uint8Array(again, 10, 5)]).toEqual([1, 2, 3, 4, 5]);
  });

  it("leaves alone buffers it does not own and ones too small to be worth keeping", () => {
    const pool = new BufferPool(16 * 1024 * KiB);
    const foreign = new ArrayBuffer(256 * KiB);
    pool.recycle(foreign);
    expect(foreign.byteLength).toBe(256 * KiB);
    const tiny = new ArrayBuffer(4 * KiB);
    markOwned(tiny);
    pool.recycle(tiny);
    expect(tiny.byteLength).toBe(4 * KiB);
    pool.recycle(undefined);
    expect(pool.bytes).toBe(0);
  });

  it("stays under its bound, dropping the oldest idle buffers, and never keeps one over half of it", () => {
    const pool = new BufferPool(1024 * KiB);
    const [a, b, c] = [pool.take(384 * KiB), pool.take(384 * KiB), pool.take(384 * KiB)];
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.bytes).toBe(768 * KiB);
    expect(pool.take(384 * KiB)).toBe(b);
    expect(pool.take(384 * KiB)).toBe(c);
    expect(pool.take(384 * KiB)).not.toBe(a);
    pool.give(pool.take(600 * KiB));
    expect(pool.bytes).toBe(0);
  });
});
