/**
 * Hostile requests against a real sidecar process: each must be refused with a stable code (or answered
 * correctly), never take the pod down — peak RSS under 1 GB and liveness answering within 1 s while it runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "./errors.ts";
import { deflateBomb, explicitDicom } from "./testing/hostile-dicom.ts";
import { cnnCtSignature, writeModel } from "./testing/models.ts";
import { type ProbeResult, probe, type SidecarProcess, startSidecarProcess } from "./testing/process.ts";

const GB = 1024 ** 3;

interface Answer {
  status: number;
  json: { error?: string; code?: string; [k: string]: unknown };
}

async function post(
  url: string,
  body: Buffer | string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await fetch(url, { method: "POST", body, headers: { "content-type": contentType, ...headers } });
  const text = await r.text();
  let json: Answer["json"];
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text.slice(0, 200) };
  }
  return { status: r.status, json };
}

function expectHealthy<T>(p: ProbeResult<T>): void {
  expect(p.peakRssBytes, "peak RSS").toBeLessThan(1 * GB);
  expect(p.maxLivenessMs, "slowest liveness answer").toBeLessThan(1000);
}

function expectRefused(a: Answer, code: string): void {
  expect(a.json.code, a.json.error).toBe(code);
  expect(a.status).toBe(ERROR_STATUS[code as keyof typeof ERROR_STATUS]);
  expect(typeof a.json.error).toBe("string");
}

async function metric(sc: SidecarProcess, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${sc.metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name}{`) && labels.split(",").every((l) => line.includes(l)))
      sum += Number(line.split(" ").at(-1));
  return sum;
}

describe("hostile requests (real sidecar process)", () => {
  let dir: string;
  let cnn: SidecarProcess;
  let cnn128: SidecarProcess;
  const infer = (sc: SidecarProcess, name: string) => `${sc.url}/v2/models/${name}/infer`;
  const json = (data: unknown, shape = [1, 1, 16, 16], extra: object = {}) =>
    JSON.stringify({ inputs: [{ name: "image", datatype: "FP32", shape, data }], ...extra });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sidecar-hostile-"));
    writeFileSync(join(dir, "sig.json"), JSON.stringify(cnnCtSignature));
    [cnn, cnn128] = await Promise.all([
      startSidecarProcess([
        "--model",
        writeModel(dir, "cnn"),
        "--name",
        "cnn",
        "--signature",
        join(dir, "sig.json"),
      ]),
      startSidecarProcess(["--model", writeModel(dir, "cnn128"), "--name", "cnn128"]),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([cnn?.stop(), cnn128?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a deflated DICOM that inflates to 1 GiB is refused (inflation capped by the declared geometry)", async () => {
    const bomb = await deflateBomb({ rows: 16, columns: 16 }, 1024 ** 3);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const p = await probe(cnn, () => post(infer(cnn, "cnn"), bomb, "application/dicom"));
    expectRefused(p.result, "INFLATED_TOO_LARGE");
    expectHealthy(p);
  }, 60_000);

  it("a small file of 1,000 1×1 frames against a 128×128 model is refused before anything is decoded", async () => {
    const file = explicitDicom({ rows: 1, columns: 1, frames: 1000 });
    expect(file.length).toBeLessThan(4096);
    const p = await probe(cnn128, () => post(infer(cnn128, "cnn128"), file, "application/dicom"));
    expectRefused(p.result, "INPUT_TOO_LARGE");
    expectHealthy(p);
  }, 60_000);

  it("the same output asked for many times is refused, not answered many times", async () => {
    const outputs = Array.from({ length: 100_000 }, () => ({ name: "logits" }));
    const p = await probe(cnn, () =>
      post(infer(cnn, "cnn"), json(new Array(256).fill(0.5), undefined, { outputs }), "application/json"),
    );
    expectRefused(p.result, "DUPLICATE_OUTPUT");
    expectHealthy(p);
  });

  it("a RescaleSlope of 1e308 is a 422, never a confident negative, and counts as an error", async () => {
    const before = await metric(cnn, "medmlops_sidecar_predictions_total", "");
    const errorsBefore = await metric(cnn, "medmlops_sidecar_requests_total", 'status="422"');
    const file = explicitDicom({ rows: 16, columns: 16, rescaleSlope: "1e308" });
    const p = await probe(cnn, () => post(infer(cnn, "cnn"), file, "application/dicom"));
    expectRefused(p.result, "NON_FINITE_INPUT");
    expect(p.result.json.outputs).toBeUndefined();
    expectHealthy(p);
    expect(await metric(cnn, "medmlops_sidecar_predictions_total", "")).toBe(before);
    expect(await metric(cnn, "medmlops_sidecar_requests_total", 'status="422"')).toBe(errorsBefore + 1);
  });

  it("JSON inputs of 1e999 (and binary NaN) are a 422 NON_FINITE_INPUT", async () => {
    const text = json(new Array(256).fill(0.5)).replace("[0.5,", "[1e999,");
    expectRefused(await post(infer(cnn, "cnn"), text, "application/json"), "NON_FINITE_INPUT");
    const nested = json([
      [[new Array(16).fill(0.5), ...Array.from({ length: 15 }, () => new Array(16).fill(0.5))]],
    ]).replace("[0.5,", "[-1e999,");
    expectRefused(await post(infer(cnn, "cnn"), nested, "application/json"), "NON_FINITE_INPUT");
    const floats = new Float32Array(256).fill(0.5);
    floats[7] = Number.NaN;
    const head = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "image", datatype: "FP32", shape: [1, 1, 16, 16], parameters: { binary_data_size: 1024 } },
        ],
      }),
    );
    const a = await post(
      infer(cnn, "cnn"),
      Buffer.concat([head, Buffer.from(floats.buffer)]),
      "application/octet-stream",
      {
        "inference-header-content-length": String(head.length),
      },
    );
    expectRefused(a, "NON_FINITE_INPUT");
  });

  it("a finite input whose outputs overflow is a 422 NON_FINITE_OUTPUT, not a decision", async () => {
    const before = await metric(cnn, "medmlops_sidecar_predictions_total", "");
    const a = await post(infer(cnn, "cnn"), json(new Array(256).fill(3.4e38)), "application/json");
    expectRefused(a, "NON_FINITE_OUTPUT");
    expect(await metric(cnn, "medmlops_sidecar_predictions_total", "")).toBe(before);
  });

  it("a huge declared shape with tiny data is a 400 and allocates nothing first", async () => {
    for (const shape of [
      [1e9, 1, 16, 16],
      [2 ** 52, 1, 16, 16],
      [1e300, 1, 16, 16],
    ]) {
      const p = await probe(cnn, () => post(infer(cnn, "cnn"), json([1, 2, 3], shape), "application/json"));
      expect(p.result.status, JSON.stringify(p.result.json)).toBe(400);
      // 1e300 is not a safe integer: refused by the request schema; the others by the element count.
      expect(p.result.json.code).toBe(shape[0] === 1e300 ? "BAD_REQUEST" : "DATA_SIZE_MISMATCH");
      expectHealthy(p);
    }
  });

  it("10k-deep nested arrays are a 400, not a stack overflow", async () => {
    const deep = `${"[".repeat(10_000)}1${"]".repeat(10_000)}`;
    const p = await probe(cnn, () =>
      post(
        infer(cnn, "cnn"),
        `{"inputs":[{"name":"image","datatype":"FP32","shape":[1,1,16,16],"data":${deep}}]}`,
        "application/json",
      ),
    );
    expectRefused(p.result, "NESTING_TOO_DEEP");
    expectHealthy(p);
    const elsewhere = `{"inputs":[{"name":"image","datatype":"FP32","shape":[1,1,16,16],"parameters":{"x":${deep}},"data":[1]}]}`;
    expectRefused(await post(infer(cnn, "cnn"), elsewhere, "application/json"), "NESTING_TOO_DEEP");
  });

  it("content types the protocol does not define are a 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "image/png"]) {
      expectRefused(
        await post(infer(cnn, "cnn"), json(new Array(256).fill(0.5)), type),
        "UNSUPPORTED_MEDIA_TYPE",
      );
    }
    const ok = await post(
      infer(cnn, "cnn"),
      json(new Array(256).fill(0.5)),
      "application/json; charset=utf-8",
    );
    expect(ok.status).toBe(200);
  });

  it("a Content-Length shorter than the body is answered in the {error, code} format", async () => {
    const body = json(new Array(256).fill(0.5));
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(cnn.port, "127.0.0.1");
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve(out));
      s.on("close", () => resolve(out));
      s.on("error", reject);
      s.write(
        `POST /v2/models/cnn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n${body}`,
      );
      setTimeout(() => s.end(), 1500);
    });
    const bodies = raw
      .split(/HTTP\/1\.1 /)
      .filter((r) => r.length > 0)
      .map((r) => r.slice(r.indexOf("\r\n\r\n") + 4));
    expect(bodies.length).toBeGreaterThan(0);
    for (const b of bodies) {
      const parsed = JSON.parse(b.replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n\r\n$/, ""));
      expect(Object.keys(parsed).sort()).toEqual(["code", "error"]);
      expect(Object.keys(ERROR_STATUS)).toContain(parsed.code);
    }
  });
});

describe("slow clients, the stop button and a missing key (real sidecar processes)", () => {
  let dir: string;
  let model: string;
  const started: SidecarProcess[] = [];
  const start = async (args: string[], opts?: Parameters<typeof startSidecarProcess>[1]) => {
    const sc = await startSidecarProcess(["--model", model, "--name", "cnn", ...args], opts);
    started.push(sc);
    return sc;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sidecar-hostile2-"));
    model = writeModel(dir, "cnn");
    writeFileSync(join(dir, "sig.json"), JSON.stringify(cnnCtSignature));
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a connection, sends `first`, then one byte every 200 ms; resolves with the ms until the server closed it. */
  const trickle = (port: number, first: string, drip: string) =>
    new Promise<{ ms: number; answer: string }>((resolve) => {
      const t = performance.now();
      const s = connect(port, "127.0.0.1");
      let answer = "";
      s.on("data", (d) => (answer += d));
      s.write(first);
      const timer = setInterval(() => s.writable && s.write(drip), 200);
      s.on("close", () => {
        clearInterval(timer);
        resolve({ ms: performance.now() - t, answer });
      });
      s.on("error", () => {});
    });

  it("a client that trickles its headers or its body is cut off at --request-timeout-ms, with a coded answer", async () => {
    const sc = await start(["--request-timeout-ms", "1500"]);
    const headers = await trickle(sc.port, "POST /v2/models/cnn/infer HTTP/1.1\r\nHost: x\r\n", "X");
    expect(headers.ms).toBeGreaterThan(1400);
    expect(headers.ms).toBeLessThan(3500);
    const body = await trickle(
      sc.port,
      "POST /v2/models/cnn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
      " ",
    );
    expect(body.ms).toBeGreaterThan(1400);
    expect(body.ms).toBeLessThan(3500);
    for (const { answer } of [headers, body]) {
      if (answer === "") continue; // closed without an answer is fine; an answer must be ours
      const json = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
      expect(Object.keys(ERROR_STATUS)).toContain(json.code);
    }
  }, 30_000);

  it("connections beyond --max-connections are refused and the server keeps answering", async () => {
    const sc = await start(["--max-connections", "8"]);
    const sockets = await Promise.all(
      Array.from(
        { length: 12 },
        () =>
          new Promise<{ closed: Promise<boolean> }>((resolve) => {
            const s = connect(sc.port, "127.0.0.1", () => {
              const closed = new Promise<boolean>((r) => {
                s.on("close", () => r(true));
                setTimeout(() => r(false), 1000);
              });
              resolve({ closed });
            });
            s.on("error", () => {});
            setTimeout(() => s.destroy(), 3000);
          }),
      ),
    );
    const closedAtOnce = (await Promise.all(sockets.map((s) => s.closed))).filter(Boolean).length;
    // 12 - 8 = 4 refused; one more when this test process's own keep-alive connection (the readiness poll)
    // still holds a slot.
    expect(closedAtOnce).toBeGreaterThanOrEqual(4);
    expect(closedAtOnce).toBeLessThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await fetch(`${sc.url}/v2/health/live`)).status).toBe(200);
  }, 30_000);

  it("a control file that cannot be parsed at start-up leaves the model suspended (fail closed)", async () => {
    const control = join(dir, "control.json");
    writeFileSync(control, '{"suspended": "true"}');
    const sc = await start(["--control-file", control, "--signature", join(dir, "sig.json")]);
    const body = JSON.stringify({
      inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) }],
    });
    expectRefused(await post(`${sc.url}/v2/models/cnn/infer`, body, "application/json"), "SUSPENDED");
    // A valid file resumes it (polled every 2 s).
    writeFileSync(control, '{"suspended": false}');
    const end = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < end && status !== 200) {
      await new Promise((r) => setTimeout(r, 300));
      status = (await post(`${sc.url}/v2/models/cnn/infer`, body, "application/json")).status;
    }
    expect(status).toBe(200);
  }, 30_000);

  it("ModelToData with the case id key file absent serves without case ids instead of crash-looping", async () => {
    const sc = await start(["--signature", join(dir, "sig.json"), "--deid-mode", "ModelToData"], {
      env: {
        MEDMLOPS_CASE_ID_KEY_FILE: join(dir, "no-such-secret", "hmac-key"),
        MEDMLOPS_CASE_ID_KEY: undefined,
      },
    });
    const a = await post(
      `${sc.url}/v2/models/cnn/infer`,
      explicitDicom({ rows: 16, columns: 16 }),
      "application/dicom",
    );
    expect(a.status).toBe(200);
    expect(a.json.case_id).toBeNull();
    expect(sc.output()).toContain("answers carry no case id");
  }, 30_000);
});
