import { request } from "node:http";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { allocateBody } from "./body.ts";
import { earlyParse } from "./early-parse.ts";
import { decodeInferResponse, encodeBinaryRequest } from "./protocol.ts";
import { Signature } from "./signature.ts";
import { randomFloats, startHarness } from "./testing/harness.ts";

const sig = (inputs: { name: string; datatype: string; shape: number[] }[]) =>
  Signature.parse({ inputs, outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }] });

/** The request as the sidecar holds it when only the header has arrived: the tensor bytes are still zero. */
function headerOnly(req: { body: Buffer; headerLength: number }): Buffer {
  const body = allocateBody(req.body.length, req.headerLength);
  body.fill(0);
  req.body.copy(body, 0, 0, req.headerLength);
  return body;
}

describe("parsing a binary request's header before its tensors arrive", () => {
  it("makes the tensors views of the body, which show the bytes once they land", () => {
    const x = Float32Array.from([1.5, -2, 3.25, 4]);
    const req = encodeBinaryRequest([{ name: "x", datatype: "FP32", shape: [2, 2], data: x }]);
    const body = headerOnly(req);
    const early = earlyParse(body, req.headerLength, sig([{ name: "x", datatype: "FP32", shape: [-1, 2] }]));
    const t = early?.parsed.inputs.get("x");
    expect(t?.shape).toEqual([2, 2]);
    expect(t?.data).toEqual(new Float32Array(4));
    req.body.copy(body, req.headerLength, req.headerLength); // the rest of the body arrives
    expect(t?.data).toEqual(x);
  });

  it("gives up when an input would be read from bytes not yet received (an unaligned tensor is copied)", () => {
    const req = encodeBinaryRequest([
      { name: "a", datatype: "INT8", shape: [1, 3], data: Int8Array.from([1, 2, 3]) },
      { name: "b", datatype: "FP32", shape: [1, 2], data: Float32Array.from([5, 6]) },
    ]);
    const s = sig([
      { name: "a", datatype: "INT8", shape: [-1, 3] },
      { name: "b", datatype: "FP32", shape: [-1, 2] },
    ]);
    expect(earlyParse(headerOnly(req), req.headerLength, s)).toBeUndefined();
  });

  it("leaves errors to the handler: an invalid header gives nothing", () => {
    const body = Buffer.from('{"inputs": [{"name": "x"}]}');
    expect(
      earlyParse(body, body.length, sig([{ name: "x", datatype: "FP32", shape: [-1, 2] }])),
    ).toBeUndefined();
  });

  it("answers like session.run when the tensors arrive well after the header (real HTTP)", async () => {
    const h = await startHarness("cnn128", { listen: true });
    try {
      const x = randomFloats(2 * 128 * 128, 5);
      const req = encodeBinaryRequest(
        [{ name: "image", datatype: "FP32", shape: [2, 1, 128, 128], data: x }],
        {
          outputs: [{ name: "logits", binary: true }],
        },
      );
      const { port } = new URL(h.url);
      const answer = await new Promise<{ body: Buffer; headerLength: number }>((resolve, reject) => {
        const r = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v2/models/cnn128/infer",
            headers: {
              "content-type": "application/octet-stream",
              "content-length": String(req.body.length),
              "inference-header-content-length": String(req.headerLength),
            },
          },
          (res) => {
            const parts: Buffer[] = [];
            res.on("data", (d: Buffer) => parts.push(d));
            res.on("end", () =>
              res.statusCode === 200
                ? resolve({
                    body: Buffer.concat(parts),
                    headerLength: Number(res.headers["inference-header-content-length"]),
                  })
                : reject(new Error(`status ${res.statusCode}`)),
            );
          },
        );
        r.on("error", reject);
        // The header and the first bytes of the tensor now, the rest 100 ms later.
        r.write(req.body.subarray(0, req.headerLength + 10));
        setTimeout(() => r.end(req.body.subarray(req.headerLength + 10)), 100);
      });
      const got = decodeInferResponse(answer.body, answer.headerLength).outputs.get("logits")?.data;
      const want = (await h.reference.run({ image: new ort.Tensor("float32", x, [2, 1, 128, 128]) }))
        .logits as ort.Tensor;
      expect(got).toEqual(want.data);
    } finally {
      await h.close();
    }
  });
});
