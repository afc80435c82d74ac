import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "./errors.ts";
import { loadModel } from "./model.ts";
import { prng, writeModel } from "./testing/models.ts";
import { type Harness, startHarness } from "./testing/harness.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("robustness", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("cnn", { bodyLimit: 64 * 1024 });
  });
  afterAll(() => h.close());

  it("answers every malformed body with a coded JSON error and keeps serving", async () => {
    const rand = prng(7);
    const types = [
      "application/json",
      "application/octet-stream",
      "application/dicom",
      'multipart/related; type="application/dicom"; boundary=x',
      "text/plain",
      "",
    ];
    const seeds = [
      '{"inputs":[{"name":"image","datatype":"FP32","shape":[1,1,16,16],"data":[',
      "DICM",
      "--x\r\nContent-Type: application/dicom\r\n\r\n",
      "{}",
      "[]",
      "null",
    ];
    for (let i = 0; i < 150; i++) {
      const len = Math.floor(rand() * 2000);
      const bytes = Buffer.alloc(len);
      for (let k = 0; k < len; k++) bytes[k] = Math.floor(rand() * 256);
      const body = Buffer.concat([Buffer.from(seeds[i % seeds.length] as string), bytes]);
      const headers: Record<string, string> = { "content-type": types[i % types.length] as string };
      if (i % 5 === 0) headers["inference-header-content-length"] = String(Math.floor(rand() * 3000) - 500);
      const res = await h.sidecar.app.inject({
        method: "POST",
        url: "/v2/models/cnn/infer",
        headers,
        payload: body,
      });
      expect(res.statusCode, `case ${i}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `case ${i}`).toBeLessThan(500);
      const json = res.json();
      expect(Object.keys(ERROR_STATUS)).toContain(json.code);
      expect(typeof json.error).toBe("string");
    }
    const ok = await h.sidecar.app.inject({
      method: "POST",
      url: "/v2/models/cnn/infer",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(1) }],
      }),
    });
    expect(ok.statusCode).toBe(200);
  });

  it("drains in-flight requests on shutdown: not ready first, queued work answered", async () => {
    const slow = await startHarness("cnn", { maxBatchSize: 8, maxQueueDelayMs: 300 });
    const pending = slow.sidecar.app.inject({
      method: "POST",
      url: "/v2/models/cnn/infer",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(1) }],
      }),
    });
    await new Promise((r) => setTimeout(r, 50));
    const draining = slow.sidecar.drain(5000);
    expect(slow.sidecar.ready).toBe(false);
    const res = await pending;
    expect(res.statusCode).toBe(200);
    await draining;
    await slow.reference.release();
  });

  it("falls back to CPU when an execution provider is unavailable and says which it uses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sidecar-ep-"));
    try {
      const warnings: string[] = [];
      const m = await loadModel({
        path: writeModel(dir, "cnn"),
        executionProviders: ["cuda", "cpu"],
        log: (msg) => warnings.push(msg),
      });
      expect(m.executionProvider).toBe("cpu");
      expect(warnings.some((w) => w.includes("cuda"))).toBe(true);
      await m.session.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs onnxruntime off the event loop by default (the loop turns while a run is in flight)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sidecar-thread-"));
    try {
      const path = writeModel(dir, "cnn");
      for (const thread of ["worker", "main"] as const) {
        const m = await loadModel({ path, ...(thread === "main" ? { thread } : {}) });
        const order: string[] = [];
        const x = new Float32Array(64 * 256).fill(0.5);
        const run = m.session
          .run({ image: { type: "float32", data: x, dims: [64, 1, 16, 16] } })
          .then(() => order.push("run"));
        setImmediate(() => order.push("event loop"));
        await run;
        await new Promise((r) => setImmediate(r));
        // On the main thread the run blocks the loop and finishes first; in the worker the loop turns meanwhile.
        expect(order, thread).toEqual(thread === "worker" ? ["event loop", "run"] : ["run", "event loop"]);
        await m.session.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
