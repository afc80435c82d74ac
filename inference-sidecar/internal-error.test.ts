import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { describeInternalError } from "./internal-error.ts";
import { randomFloats, startHarness } from "./testing/harness.ts";

const PHI = "DOE^JANE 19800101 MRN-424242";

/** Two failure sites; the message varies per call, as a library's message echoing input would. */
const failHere = (detail: string) => new TypeError(`cannot convert value ${detail}`);
const failThere = (detail: string) => new TypeError(`cannot convert value ${detail}`);

// The id hashes the whole call path, so each comparison below creates its errors from one call site.
const idsOf = (site: (d: string) => Error, details: string[]) =>
  details.map((detail) => describeInternalError(site(detail)).id);

describe("describeInternalError", () => {
  it("keeps class, code-like codes and a stable id, never the message", () => {
    const d = describeInternalError(failHere(PHI));
    expect(JSON.stringify(d)).not.toMatch(/DOE|JANE|19800101|424242|convert/);
    expect(d.type).toBe("TypeError");
    expect(d.id).toMatch(/^[0-9a-f]{12}$/);
    // The same site with other input content → the same id; another site → another id.
    const [here1, here2, hereFaked] = idsOf(failHere, [
      PHI,
      "SMITH^JOHN",
      `${PHI}\n    at /home/DOE/x.js:1:1`,
    ]);
    expect(here2).toBe(here1);
    expect(hereFaked).toBe(here1); // a message that fakes stack lines is not read
    const [there] = idsOf(failThere, [PHI]);
    expect(there).not.toBe(here1);

    const withCode = Object.assign(new Error(PHI), { code: "ERR_OUT_OF_RANGE" });
    expect(describeInternalError(withCode).code).toBe("ERR_OUT_OF_RANGE");
    const dataCode = Object.assign(new Error("x"), { code: PHI });
    expect(describeInternalError(dataCode).code).toBeUndefined();
  });

  it("describes a wrapped cause the same way", () => {
    const [a, b] = [PHI, "other"].map((detail) =>
      describeInternalError(new Error("wrapper", { cause: failHere(detail) })),
    );
    expect(a?.cause?.type).toBe("TypeError");
    expect(a?.cause?.id).toMatch(/^[0-9a-f]{12}$/);
    expect(a?.cause?.id).toBe(b?.cause?.id);
    expect(JSON.stringify(a)).not.toMatch(/DOE|wrapper/);
  });
});

describe("the sidecar's 5xx logs", () => {
  it("log the error's class and id, not the text of an unexpected library error", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h = await startHarness("cnn", { logger: pino({ level: "info" }, sink) });
    try {
      // onnxruntime failing with a message that echoes its input (as a library may).
      const model = (h.sidecar as unknown as { model: { session: { run: unknown } } }).model;
      let calls = 0;
      model.session.run = async () => {
        throw failHere(`${PHI} ${++calls}`);
      };
      for (let i = 0; i < 2; i++) {
        const data = Array.from(randomFloats(256, i));
        const res = await h.sidecar.app.inject({
          method: "POST",
          url: "/v2/models/cnn/infer",
          headers: { "content-type": "application/json" },
          payload: JSON.stringify({
            inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data }],
          }),
        });
        expect(res.statusCode).toBe(500);
        expect(res.json().code).toBe("INFERENCE_FAILED");
      }
      const failed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "infer failed");
      expect(failed).toHaveLength(2);
      expect(failed[0].code).toBe("INFERENCE_FAILED");
      expect(failed[0].err.cause).toEqual({ type: "TypeError", id: expect.stringMatching(/^[0-9a-f]{12}$/) });
      expect(failed[1].err.cause.id).toBe(failed[0].err.cause.id);
      expect(lines.length).toBeGreaterThan(2);
      expect(lines.join("")).not.toMatch(/DOE|JANE|19800101|424242/);
    } finally {
      await h.close();
    }
  });
});
