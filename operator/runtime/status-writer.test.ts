import { describe, expect, it } from "vitest";
import { olderThan, StatusWriter } from "./status-writer.ts";
import { MemoryCache } from "./testing/memory-cache.ts";
import { RecordingClient } from "./testing/recording-client.ts";
import type { KubeObject } from "./types.ts";

const kind = { group: "medmlops.io", version: "v1alpha1", kind: "MedModel", plural: "medmodels" };
const key = { namespace: "rad", name: "chest" };
const obj = (status?: object, rv = "5", uid = "u1"): KubeObject => ({
  apiVersion: "medmlops.io/v1alpha1",
  kind: "MedModel",
  metadata: { ...key, uid, generation: 3, resourceVersion: rv },
  ...(status ? { status } : {}),
});

function setup() {
  const cache = new MemoryCache();
  const client = new RecordingClient(cache);
  return { cache, client, writer: new StatusWriter<{ observedGeneration?: number; phase?: string }>(client) };
}

describe("StatusWriter", () => {
  it("writes with observedGeneration when the reconcile succeeded, keeps the old one when not", async () => {
    const { client, writer } = setup();
    expect(await writer.write(obj({ observedGeneration: 2 }), { phase: "A" }, { succeeded: false })).toBe(
      true,
    );
    expect(client.statuses[0]?.["status"]).toEqual({ phase: "A", observedGeneration: 2 });
    expect(await writer.write(obj(), { phase: "B" })).toBe(true);
    expect(client.statuses[1]?.["status"]).toEqual({ phase: "B", observedGeneration: 3 });
  });

  it("skips a status equal to the cached one (key order does not matter)", async () => {
    const { client, writer } = setup();
    const cached = obj({ phase: "A", observedGeneration: 3 });
    expect(await writer.write(cached, { observedGeneration: 3, phase: "A" })).toBe(false);
    expect(client.statuses).toHaveLength(0);
  });

  it("remembers its own write until the cache catches up, then trusts the cache again", async () => {
    const { cache, client, writer } = setup();
    cache.put(obj());
    await writer.write(obj(), { phase: "A" }); // answered with rv 101
    // The watch has not delivered the write: current() is ours, and writing it again is skipped.
    expect(writer.current(obj())).toEqual({ phase: "A", observedGeneration: 3 });
    expect(await writer.write(obj(), { phase: "A" })).toBe(false);
    client.observeStatus(kind, key);
    const caughtUp = cache.get(kind, key)!;
    expect(writer.current(caughtUp)).toEqual({ phase: "A", observedGeneration: 3 });
    // Someone else changed status after our write: the newer cached object wins over our memo.
    const later = {
      ...caughtUp,
      status: { phase: "X" },
      metadata: { ...caughtUp.metadata, resourceVersion: "500" },
    };
    expect(writer.current(later)).toEqual({ phase: "X" });
  });

  it("ignores its memo for a re-created object (another uid) and after forget", async () => {
    const { writer } = setup();
    await writer.write(obj(), { phase: "A" });
    expect(writer.current(obj(undefined, "5", "u2"))).toEqual({});
    expect(writer.size()).toBe(1);
    writer.forget(key);
    expect(writer.size()).toBe(0);
    expect(writer.current(obj())).toEqual({});
  });

  it("does not remember a write that failed", async () => {
    const { client, writer } = setup();
    client.applyStatus = async () => {
      throw new Error("boom");
    };
    await expect(writer.write(obj(), { phase: "A" })).rejects.toThrow("boom");
    expect(writer.size()).toBe(0);
  });
});

describe("olderThan", () => {
  it("compares integer resourceVersions numerically and refuses anything else", () => {
    expect(olderThan("9", "10")).toBe(true);
    expect(olderThan("10", "9")).toBe(false);
    expect(olderThan("10", "10")).toBe(false);
    expect(olderThan("a", "10")).toBe(false);
    expect(olderThan(undefined, "10")).toBe(false);
  });
});
