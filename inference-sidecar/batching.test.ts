import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownedPool } from "./owned-buffers.ts";
import { decodeInferResponse, encodeBinaryRequest } from "./protocol.ts";
import { type Harness, randomFloats, startHarness } from "./testing/harness.ts";

async function infer(
  h: Harness,
  x: Float32Array,
  n: number,
  binary: boolean,
  model: "cnn" | "cnn128" = "cnn",
): Promise<Float32Array> {
  const side = model === "cnn" ? 16 : 128;
  const shape = [n, 1, side, side];
  if (binary) {
    const req = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape, data: x }], {
      outputs: [{ name: "logits" }],
    });
    const res = await fetch(`${h.url}/v2/models/${model}/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(req.headerLength),
      },
      body: req.body,
    });
    expect(res.status).toBe(200);
    const buf = Buffer.from(await res.arrayBuffer());
    return decodeInferResponse(buf, Number(res.headers.get("inference-header-content-length"))).outputs.get(
      "logits",
    )?.data as Float32Array;
  }
  const res = await fetch(`${h.url}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "image", datatype: "FP32", shape, data: Array.from(x) }] }),
  });
  expect(res.status).toBe(200);
  return Float32Array.from(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data ?? []);
}

describe("dynamic batching under concurrency (real HTTP)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("cnn", { listen: true, maxBatchSize: 8, maxQueueDelayMs: 5 });
  });
  afterAll(() => h.close());

  it("a chunked binary body (no Content-Length) answers like session.run", async () => {
    const x = randomFloats(2 * 256, 77);
    const req = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: x }], {
      outputs: [{ name: "logits" }],
    });
    const parts = [req.body.subarray(0, 100), req.body.subarray(100, 1001), req.body.subarray(1001)];
    const res = await fetch(`${h.url}/v2/models/cnn/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(req.headerLength),
      },
      body: new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(new Uint8Array(p));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    const got = decodeInferResponse(
      Buffer.from(await res.arrayBuffer()),
      Number(res.headers.get("inference-header-content-length")),
    ).outputs.get("logits")?.data;
    const want = (await h.reference.run({ image: new ort.Tensor("float32", x, [2, 1, 16, 16]) }))
      .logits as ort.Tensor;
    expect(got).toEqual(want.data);
  });

  it("batched answers equal unbatched session.run, request by request", async () => {
    const requests = Array.from({ length: 40 }, (_, i) => {
      const n = (i % 3) + 1;
      return { n, x: randomFloats(n * 256, 100 + i), binary: i % 2 === 0 };
    });
    const batchMetrics = async () => {
      const text = (await h.sidecar.metricsApp.inject("/metrics")).body;
      return {
        sum: Number(/medmlops_sidecar_batch_size_sum\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0),
        count: Number(/medmlops_sidecar_batch_size_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0),
      };
    };
    const before = await batchMetrics();
    const answers = await Promise.all(requests.map((r) => infer(h, r.x, r.n, r.binary)));
    for (const [i, r] of requests.entries()) {
      const want = (await h.reference.run({ image: new ort.Tensor("float32", r.x, [r.n, 1, 16, 16]) }))
        .logits as ort.Tensor;
      expect(answers[i], `request ${i}`).toEqual(want.data);
    }
    const after = await batchMetrics();
    const sum = after.sum - before.sum;
    const count = after.count - before.count;
    expect(sum).toBe(requests.reduce((a, r) => a + r.n, 0));
    // 40 concurrent requests must not have run one by one.
    expect(count).toBeLessThan(requests.length);
  });

  it("a model without a batch dimension runs requests one at a time", async () => {
    const n = await startHarness("numeric", { listen: true, maxBatchSize: 8, maxQueueDelayMs: 5 });
    try {
      const xs = Array.from({ length: 10 }, (_, i) => Array.from(randomFloats(6, 300 + i)));
      const res = await Promise.all(
        xs.map((x) =>
          fetch(`${n.url}/v2/models/numeric/infer`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ inputs: [{ name: "0", datatype: "FP32", shape: [2, 3], data: x }] }),
          }).then((r) => r.json() as Promise<{ outputs: { data: number[] }[] }>),
        ),
      );
      for (const [i, r] of res.entries()) {
        expect(r.outputs[0]?.data).toEqual(xs[i]?.map((v) => Math.max(0, Math.fround(v))));
      }
      const text = (await n.sidecar.metricsApp.inject("/metrics")).body;
      expect(text).toMatch(/medmlops_sidecar_batch_size_count\{[^}]*\} 10\n/);
      expect(text).toMatch(/medmlops_sidecar_batch_size_sum\{[^}]*\} 10\n/);
    } finally {
      await n.close();
    }
  });
});

describe("recycled body memory (owned-buffer pool)", () => {
  it("never carries one request's data into another: waves of concurrent 64 KiB+ requests equal session.run", async () => {
    const h = await startHarness("cnn128", { listen: true, maxBatchSize: 8, maxQueueDelayMs: 2 });
    try {
      const image = 128 * 128;
      for (let wave = 0; wave < 3; wave++) {
        const requests = Array.from({ length: 20 }, (_, i) => {
          const n = (i % 2) + 1;
          return { n, x: randomFloats(n * image, 1000 * wave + i), binary: i % 4 !== 3 };
        });
        const answers = await Promise.all(requests.map((r) => infer(h, r.x, r.n, r.binary, "cnn128")));
        for (const [i, r] of requests.entries()) {
          const want = (await h.reference.run({ image: new ort.Tensor("float32", r.x, [r.n, 1, 128, 128]) }))
            .logits as ort.Tensor;
          expect(answers[i], `wave ${wave} request ${i}`).toEqual(want.data);
        }
      }
      // The later waves ran on recycled memory: bodies and stacks came back and are held for reuse.
      expect(ownedPool.bytes).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});

describe("overload and timeout", () => {
  it("refuses beyond the queue limit with 503 OVERLOADED and times out slow requests with 503 TIMEOUT", async () => {
    const h = await startHarness("cnn", { maxBatchSize: 1, maxQueue: 2, requestTimeoutMs: 60_000 });
    try {
      const body = JSON.stringify({
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) }],
      });
      const send = () =>
        h.sidecar.app.inject({
          method: "POST",
          url: "/v2/models/cnn/infer",
          headers: { "content-type": "application/json" },
          payload: body,
        });
      const statuses = (await Promise.all(Array.from({ length: 8 }, send))).map((r) => [
        r.statusCode,
        r.json().code,
      ]);
      expect(statuses.filter(([s]) => s === 200).length).toBeGreaterThanOrEqual(3);
      expect(statuses).toContainEqual([503, "OVERLOADED"]);
    } finally {
      await h.close();
    }
    const slow = await startHarness("cnn", { maxBatchSize: 8, maxQueueDelayMs: 5000, requestTimeoutMs: 50 });
    try {
      const res = await slow.sidecar.app.inject({
        method: "POST",
        url: "/v2/models/cnn/infer",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({
          inputs: [
            { name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) },
          ],
        }),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe("TIMEOUT");
    } finally {
      await slow.close();
    }
  });
});
