import * as ort from "onnxruntime-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeInferResponse, encodeBinaryRequest } from "./protocol.ts";
import { Sidecar, SUSPENDED_MESSAGE } from "./server.ts";
import { Signature } from "./signature.ts";
import { cnnCtSignature } from "./testing/models.ts";
import { type Harness, randomFloats, startHarness, TEST_CASE_KEY } from "./testing/harness.ts";

async function reference(h: Harness, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  return h.reference.run(feeds);
}

function post(h: Harness, model: string, payload: unknown, headers: Record<string, string> = {}) {
  return h.sidecar.app.inject({
    method: "POST",
    url: `/v2/models/${model}/infer`,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
}

describe("OIP v2 on the CNN classifier (dynamic batch)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("cnn");
  });
  afterAll(() => h.close());

  it("answers health, server and model metadata", async () => {
    expect((await h.sidecar.app.inject("/v2/health/live")).json()).toEqual({ live: true });
    const ready = await h.sidecar.app.inject("/v2/health/ready");
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
    const server = (await h.sidecar.app.inject("/v2")).json();
    expect(server.extensions).toContain("binary_tensor_data");
    expect(server.execution_provider).toBe("cpu");
    for (const url of ["/v2/models/cnn", "/v2/models/cnn/versions/1"]) {
      const meta = (await h.sidecar.app.inject(url)).json();
      expect(meta).toMatchObject({
        name: "cnn",
        versions: ["1"],
        platform: "onnxruntime_onnx",
        inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 16, 16] }],
        outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3] }],
      });
      expect(meta.parameters.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect((await h.sidecar.app.inject("/v2/models/cnn/ready")).json()).toEqual({ name: "cnn", ready: true });
    expect((await h.sidecar.app.inject("/v2/models/cnn/versions/1/ready")).statusCode).toBe(200);
  });

  it("404s unknown models, versions and routes with a code", async () => {
    const m = await h.sidecar.app.inject("/v2/models/other");
    expect(m.statusCode).toBe(404);
    expect(m.json()).toMatchObject({ code: "MODEL_NOT_FOUND" });
    expect(m.json().error).toContain('"other"');
    const v = await post(h, "cnn/versions/7", { inputs: [] });
    expect(v.statusCode).toBe(404);
    expect(v.json().code).toBe("VERSION_NOT_FOUND");
    const r = await h.sidecar.app.inject("/v3/nothing");
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe("NOT_FOUND");
  });

  it("JSON infer (flat and nested data) equals session.run", async () => {
    const x = randomFloats(2 * 256, 1);
    const want = (await reference(h, { image: new ort.Tensor("float32", x, [2, 1, 16, 16]) }))
      .logits as ort.Tensor;
    const flat = await post(h, "cnn", {
      id: "req-1",
      inputs: [{ name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: Array.from(x) }],
    });
    expect(flat.statusCode).toBe(200);
    const body = flat.json();
    expect(body).toMatchObject({ model_name: "cnn", model_version: "1", id: "req-1" });
    expect(body.outputs[0]).toMatchObject({ name: "logits", datatype: "FP32", shape: [2, 3] });
    expect(Float32Array.from(body.outputs[0].data)).toEqual(want.data);

    const nested = [0, 1].map((n) => [
      Array.from({ length: 16 }, (_, r) => Array.from(x.subarray(n * 256 + r * 16, n * 256 + r * 16 + 16))),
    ]);
    const viaNested = await post(h, "cnn/versions/1", {
      inputs: [{ name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: nested }],
    });
    expect(viaNested.statusCode).toBe(200);
    expect(Float32Array.from(viaNested.json().outputs[0].data)).toEqual(want.data);
  });

  it("binary tensor extension in and out equals session.run", async () => {
    const x = randomFloats(3 * 256, 2);
    const want = (await reference(h, { image: new ort.Tensor("float32", x, [3, 1, 16, 16]) }))
      .logits as ort.Tensor;
    const req = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape: [3, 1, 16, 16], data: x }], {
      outputs: [{ name: "logits", binary: true }],
    });
    const res = await post(h, "cnn", req.body, {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(req.headerLength),
    });
    expect(res.statusCode).toBe(200);
    const hl = Number(res.headers["inference-header-content-length"]);
    expect(hl).toBeGreaterThan(0);
    const dec = decodeInferResponse(res.rawPayload, hl);
    expect(dec.outputs.get("logits")?.shape).toEqual([3, 3]);
    expect(dec.outputs.get("logits")?.data).toEqual(want.data);
    // binary in, JSON out (no binary_data asked)
    const req2 = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape: [3, 1, 16, 16], data: x }]);
    const res2 = await post(h, "cnn", req2.body, {
      "inference-header-content-length": String(req2.headerLength),
    });
    expect(res2.headers["inference-header-content-length"]).toBeUndefined();
    expect(Float32Array.from(res2.json().outputs[0].data)).toEqual(want.data);
  });

  it.each([
    [
      "unknown input",
      { inputs: [{ name: "img", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0) }] },
      400,
      "UNKNOWN_INPUT",
      '"img"',
    ],
    [
      "shape mismatch",
      { inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 8, 32], data: new Array(256).fill(0) }] },
      400,
      "SHAPE_MISMATCH",
      "dim 2 must be 16",
    ],
    [
      "wrong rank",
      { inputs: [{ name: "image", datatype: "FP32", shape: [256], data: new Array(256).fill(0) }] },
      400,
      "SHAPE_MISMATCH",
      "rank 4",
    ],
    [
      "datatype",
      { inputs: [{ name: "image", datatype: "INT32", shape: [1, 1, 16, 16], data: new Array(256).fill(0) }] },
      400,
      "DATATYPE_MISMATCH",
      "FP32",
    ],
    [
      "unknown datatype",
      { inputs: [{ name: "image", datatype: "FLOAT", shape: [1, 1, 16, 16], data: [] }] },
      400,
      "DATATYPE_MISMATCH",
      "FLOAT",
    ],
    [
      "data size",
      { inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: [1, 2, 3] }] },
      400,
      "DATA_SIZE_MISMATCH",
      "256",
    ],
    [
      "non-number",
      {
        inputs: [
          { name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: ["a", ...new Array(255).fill(0)] },
        ],
      },
      400,
      "INVALID_DATA",
      "element 0",
    ],
    ["no inputs", { inputs: [] }, 400, "BAD_REQUEST", "inputs"],
    [
      "unknown output",
      {
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0) }],
        outputs: [{ name: "probs" }],
      },
      400,
      "UNKNOWN_OUTPUT",
      '"probs"',
    ],
  ])("rejects %s with a named problem", async (_label, payload, status, code, fragment) => {
    const res = await post(h, "cnn", payload);
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body.code).toBe(code);
    expect(body.error).toContain(fragment);
  });

  it("rejects malformed JSON, bad binary framing and oversized bodies", async () => {
    const bad = await post(h, "cnn", "{not json");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("INVALID_JSON");
    const x = randomFloats(256, 3);
    const req = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: x }]);
    const short = await post(h, "cnn", req.body.subarray(0, req.body.length - 4), {
      "inference-header-content-length": String(req.headerLength),
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().code).toBe("INVALID_BINARY");
    const wrongHeader = await post(h, "cnn", req.body, {
      "inference-header-content-length": String(req.body.length + 10),
    });
    expect(wrongHeader.json().code).toBe("INVALID_BINARY");
    const big = await post(h, "cnn", Buffer.alloc(17 * 1024 * 1024, 32));
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe("BODY_TOO_LARGE");
  });

  it("suspend answers 503 'refer to clinician' and resume serves again", async () => {
    const payload = {
      inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) }],
    };
    h.sidecar.setControl({ suspended: true, reason: "validation breach" });
    const res = await post(h, "cnn", payload);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: SUSPENDED_MESSAGE, code: "SUSPENDED" });
    expect((await h.sidecar.app.inject("/v2/models/cnn/ready")).json().ready).toBe(false);
    expect((await h.sidecar.app.inject("/v2/health/ready")).statusCode).toBe(200);
    const metrics = (await h.sidecar.metricsApp.inject("/metrics")).body;
    expect(metrics).toContain('medmlops_sidecar_model_state{model="cnn",version="1",state="suspended"} 1');
    h.sidecar.setControl({ suspended: false });
    expect((await post(h, "cnn", payload)).statusCode).toBe(200);
  });

  it("exposes Prometheus metrics with bounded labels", async () => {
    const text = (await h.sidecar.metricsApp.inject("/metrics")).body;
    expect(text).toMatch(
      /medmlops_sidecar_requests_total\{model="cnn",version="1",protocol="json",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /medmlops_sidecar_requests_total\{model="cnn",version="1",protocol="json",status="400"\} \d+/,
    );
    expect(text).toContain("medmlops_sidecar_inference_seconds_bucket");
    expect(text).toContain("medmlops_sidecar_queue_seconds_bucket");
    expect(text).toContain("medmlops_sidecar_preprocess_seconds_bucket");
    expect(text).toContain("medmlops_sidecar_request_duration_seconds_bucket");
    expect(text).toMatch(/medmlops_sidecar_batch_size_count\{model="cnn",version="1"\} \d+/);
    expect(text).toContain(
      'medmlops_sidecar_execution_provider_info{model="cnn",version="1",provider="cpu"} 1',
    );
    expect(text).toContain('medmlops_sidecar_input_mean_count{model="cnn",version="1",input="image"}');
    expect(text).toContain('medmlops_sidecar_inflight_requests{model="cnn",version="1"} 0');
    // nothing from request bodies (ids, names) becomes a label
    expect(text).not.toContain("req-1");
    expect(text).not.toContain('input="img"');
  });
});

describe("other model shapes", () => {
  it("segmentation output, binary, equals session.run", async () => {
    const h = await startHarness("seg");
    try {
      const x = randomFloats(2 * 256, 5);
      const want = (await h.reference.run({ image: new ort.Tensor("float32", x, [2, 1, 16, 16]) }))
        .mask as ort.Tensor;
      const req = encodeBinaryRequest([{ name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: x }], {
        outputs: [{ name: "mask" }],
      });
      const res = await post(h, "seg", req.body, {
        "inference-header-content-length": String(req.headerLength),
      });
      const dec = decodeInferResponse(res.rawPayload, Number(res.headers["inference-header-content-length"]));
      expect(dec.outputs.get("mask")?.shape).toEqual([2, 2, 16, 16]);
      expect(dec.outputs.get("mask")?.data).toEqual(want.data);
    } finally {
      await h.close();
    }
  });

  it("two inputs, one requested output", async () => {
    const h = await startHarness("two");
    try {
      const a = randomFloats(8, 6);
      const b = randomFloats(8, 7);
      const want = await h.reference.run({
        a: new ort.Tensor("float32", a, [2, 4]),
        b: new ort.Tensor("float32", b, [2, 4]),
      });
      const res = await post(h, "two", {
        inputs: [
          { name: "b", datatype: "FP32", shape: [2, 4], data: Array.from(b) },
          { name: "a", datatype: "FP32", shape: [2, 4], data: Array.from(a) },
        ],
        outputs: [{ name: "prod" }],
      });
      expect(res.statusCode).toBe(200);
      const outs = res.json().outputs;
      expect(outs.map((o: { name: string }) => o.name)).toEqual(["prod"]);
      expect(Float32Array.from(outs[0].data)).toEqual(want.prod?.data);
      const missing = await post(h, "two", {
        inputs: [{ name: "a", datatype: "FP32", shape: [2, 4], data: Array.from(a) }],
      });
      expect(missing.json()).toMatchObject({ code: "MISSING_INPUT" });
      expect(missing.json().error).toContain('"b"');
      const disagree = await post(h, "two", {
        inputs: [
          { name: "a", datatype: "FP32", shape: [2, 4], data: Array.from(a) },
          { name: "b", datatype: "FP32", shape: [1, 4], data: Array.from(b.subarray(0, 4)) },
        ],
      });
      expect(disagree.json().code).toBe("SHAPE_MISMATCH");
    } finally {
      await h.close();
    }
  });

  it("INT64 input, JSON and binary, equals session.run", async () => {
    const h = await startHarness("int64");
    try {
      const ids = [1, -2, 3, 4_000_000_000, 5, 6, 7, 8, 9, 2 ** 40];
      const want = await h.reference.run({
        ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [2, 5]),
      });
      const res = await post(h, "int64", {
        inputs: [{ name: "ids", datatype: "INT64", shape: [2, 5], data: ids }],
      });
      expect(res.statusCode).toBe(200);
      const byName = Object.fromEntries(
        res.json().outputs.map((o: { name: string; data: unknown[] }) => [o.name, o]),
      );
      expect(byName.doubled.datatype).toBe("INT64");
      expect(byName.doubled.data.map(BigInt)).toEqual(Array.from(want.doubled?.data as BigInt64Array));
      expect(Float32Array.from(byName.asFloat.data)).toEqual(want.asFloat?.data);
      const frac = await post(h, "int64", {
        inputs: [{ name: "ids", datatype: "INT64", shape: [1, 5], data: [1, 2, 3.5, 4, 5] }],
      });
      expect(frac.json()).toMatchObject({ code: "INVALID_DATA" });
      const req = encodeBinaryRequest(
        [{ name: "ids", datatype: "INT64", shape: [2, 5], data: BigInt64Array.from(ids.map(BigInt)) }],
        { outputs: [{ name: "doubled" }] },
      );
      const bin = await post(h, "int64", req.body, {
        "inference-header-content-length": String(req.headerLength),
      });
      const dec = decodeInferResponse(bin.rawPayload, Number(bin.headers["inference-header-content-length"]));
      expect(dec.outputs.get("doubled")?.data).toEqual(want.doubled?.data);
    } finally {
      await h.close();
    }
  });

  it('tensor named "0", fixed shape, no batch dimension', async () => {
    const h = await startHarness("numeric");
    try {
      const meta = (await h.sidecar.app.inject("/v2/models/numeric")).json();
      expect(meta.inputs).toEqual([{ name: "0", datatype: "FP32", shape: [2, 3] }]);
      const x = [-1, 2, -3, 4, -5, 6];
      const want = await h.reference.run({ "0": new ort.Tensor("float32", Float32Array.from(x), [2, 3]) });
      const res = await post(h, "numeric", {
        inputs: [{ name: "0", datatype: "FP32", shape: [2, 3], data: x }],
      });
      expect(res.json().outputs[0]).toMatchObject({ name: "1", shape: [2, 3] });
      expect(Float32Array.from(res.json().outputs[0].data)).toEqual(want["1"]?.data);
      const wrong = await post(h, "numeric", {
        inputs: [{ name: "0", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
      });
      expect(wrong.json().code).toBe("SHAPE_MISMATCH");
    } finally {
      await h.close();
    }
  });
});

describe("states", () => {
  it("answers 503 NOT_READY before a model is loaded and 400 on readiness", async () => {
    const s = new Sidecar({
      modelName: "m",
      modelVersion: "1",
      maxBatchSize: 4,
      maxQueueDelayMs: 0,
      bodyLimit: 1024 * 1024,
      requestTimeoutMs: 1000,
      caseIdKey: TEST_CASE_KEY,
      logger: pino({ level: "silent" }),
    });
    await s.app.ready();
    expect((await s.app.inject("/v2/health/live")).statusCode).toBe(200);
    const ready = await s.app.inject("/v2/health/ready");
    expect(ready.statusCode).toBe(400);
    expect(ready.json()).toEqual({ ready: false });
    const res = await s.app.inject({
      method: "POST",
      url: "/v2/models/m/infer",
      payload: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe("NOT_READY");
    s.setFailed("model digest mismatch");
    expect((await s.app.inject("/v2/models/m")).json().parameters).toMatchObject({
      state: "failed",
      failure: "model digest mismatch",
    });
    await s.app.close();
  });

  it("labels, activation and operating point feed prediction metrics", async () => {
    // The CT signature's labelled outputs, fed tensors instead of DICOM.
    const signature = Signature.parse({
      ...cnnCtSignature,
      inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 16, 16] }],
    });
    const h = await startHarness("cnn", { signature });
    try {
      const res = await post(h, "cnn", {
        inputs: [
          { name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: Array.from(randomFloats(512, 9)) },
        ],
      });
      expect(res.statusCode).toBe(200);
      const text = (await h.sidecar.metricsApp.inject("/metrics")).body;
      const count = [
        ...text.matchAll(/medmlops_sidecar_predictions_total\{[^}]*label="(normal|nodule|mass)"\} (\d+)/g),
      ].reduce((a, m) => a + Number(m[2]), 0);
      expect(count).toBe(2);
      expect(text).toMatch(
        /medmlops_sidecar_decisions_total\{model="cnn",version="1",output="logits",decision="(positive|negative)"\} \d/,
      );
    } finally {
      await h.close();
    }
  });
});
