import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerSession } from "./ort-worker.ts";
import { markOwned, ownedPool } from "./owned-buffers.ts";
import { randomFloats } from "./testing/harness.ts";
import { cnnClassifier } from "./testing/models.ts";

describe("WorkerSession: onnxruntime in a worker thread", () => {
  let worker: WorkerSession;
  let reference: ort.InferenceSession;
  beforeAll(async () => {
    const bytes = cnnClassifier();
    worker = await WorkerSession.create(bytes, { graphOptimizationLevel: "all" });
    reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all" });
  });
  afterAll(async () => {
    await worker.release();
    await reference.release();
  });

  const want = async (x: Float32Array) =>
    ((await reference.run({ image: new ort.Tensor("float32", x, [2, 1, 16, 16]) })).logits as ort.Tensor)
      .data;

  it("moves inputs in owned buffers to the worker without a copy", async () => {
    const x = randomFloats(512, 11);
    const expected = await want(x);
    const owned = new Float32Array(512);
    owned.set(x);
    markOwned(owned.buffer);
    const out = await worker.run({ image: { type: "float32", data: owned, dims: [2, 1, 16, 16] } });
    expect(out.logits?.data).toEqual(expected);
    // Transferred: the memory now belongs to the worker, the view here is empty.
    expect(owned.buffer.byteLength).toBe(0);
  });

  it("sends large input memory back with the answer, into the owned pool", async () => {
    const items = 80; // 80 KiB of input: large enough to be pooled
    const x = randomFloats(items * 256, 13);
    const expected = (await reference.run({ image: new ort.Tensor("float32", x, [items, 1, 16, 16]) })).logits
      ?.data;
    const input = new Float32Array(ownedPool.take(x.byteLength), 0, x.length);
    input.set(x);
    const before = ownedPool.bytes;
    const out = await worker.run({ image: { type: "float32", data: input, dims: [items, 1, 16, 16] } });
    expect(out.logits?.data).toEqual(expected);
    expect(input.length).toBe(0);
    expect(ownedPool.bytes).toBeGreaterThan(before);
    // The memory that came home is the input's own (its bytes are still there): no copy was made.
    expect(new Float32Array(ownedPool.take(x.byteLength), 0, x.length)).toEqual(x);
  });

  it("copies inputs in buffers it does not own, leaving them intact", async () => {
    const x = randomFloats(512, 12);
    const expected = await want(x);
    const shared = new Float32Array(x);
    const out = await worker.run({ image: { type: "float32", data: shared, dims: [2, 1, 16, 16] } });
    expect(out.logits?.data).toEqual(expected);
    expect(shared).toEqual(x);
  });
});
