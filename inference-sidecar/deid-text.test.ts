/**
 * DataToModel's burned-in text check in a real sidecar process (issue 15): secondary captures built from the
 * synthetic text corpus (deid/testing/text_corpus.py), the PP-OCRv4 detector on onnxruntime-node, a real ONNX
 * model. Text is blacked out before the model sees it and before it is kept — checked on the kept file's pixels
 * and by an independent OCR (Debian's Tesseract); a text-free capture is accepted (it used to be refused); an
 * undecodable one is refused with 422 DEID_FAILED and nothing kept.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Element, find, TAG } from "../deid/dicom/element.ts";
import { readFile } from "../deid/dicom/reader.ts";
import { baseSpecs, buildFile, us } from "../deid/testing/build.ts";
import { type Gray, readPgm } from "../deid/testing/pgm.ts";
import { ocr, words } from "../deid/testing/tesseract.ts";
import { str } from "../deid/values.ts";
import { keyFromSecret } from "../deid/index.ts";
import { checkLimit } from "./check-limit.ts";
import { buildMultipart } from "./dicom/multipart.ts";
import { deidGate } from "./deid-gate.ts";
import { Signature } from "./signature.ts";
import { startHarness } from "./testing/harness.ts";
import { cnnCtSignature, writeModel } from "./testing/models.ts";
import { type SidecarProcess, startSidecarProcess } from "./testing/process.ts";

const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";

/** An 8-bit monochrome secondary capture of `g`; `jpegGarbage`: encapsulated pixel data no decoder accepts. */
function secondaryCapture(g: Gray, sop: string, jpegGarbage = false): Uint8Array {
  const specs = baseSpecs({ modality: "OT", sop }).flatMap((s) => {
    if (s[0] === TAG.SOPClassUID) return [[s[0], s[1], SECONDARY_CAPTURE] as typeof s];
    if (s[0] === TAG.Rows) return [[s[0], s[1], us(g.height)] as typeof s];
    if (s[0] === TAG.Columns) return [[s[0], s[1], us(g.width)] as typeof s];
    if (s[0] === TAG.BitsAllocated) return [[s[0], s[1], us(8)] as typeof s];
    if (s[0] === 0x00280101) return [[s[0], s[1], us(8)] as typeof s];
    if (s[0] === 0x00280102) return [[s[0], s[1], us(7)] as typeof s];
    if (s[0] === TAG.PixelData) return jpegGarbage ? [] : [[s[0], "OB", g.pixels] as typeof s];
    return [s];
  });
  const extra: Element[] = jpegGarbage
    ? [
        {
          tag: TAG.PixelData,
          vr: "OB",
          value: new Uint8Array(),
          fragments: [new Uint8Array(), new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 1, 2, 3, 4, 0xff, 0xd9])],
        },
      ]
    : [];
  return buildFile(specs, jpegGarbage ? JPEG_BASELINE : undefined, extra);
}

interface Truth {
  file: string;
  lines: { text: string; box: [number, number, number, number] }[];
}

let dir: string;
let keepDir: string;
let sc: SidecarProcess;
let withText: { gray: Gray; truth: Truth };
let noText: { gray: Gray; truth: Truth };

/** A text-free capture: a smooth gradient with mild deterministic noise, 512 x 384. */
const plain: Gray = (() => {
  const width = 512;
  const height = 384;
  const pixels = new Uint8Array(width * height);
  let s = 7;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    pixels[i] = Math.min(255, 40 + Math.floor(((i % width) / width) * 120) + (s >>> 28));
  }
  return { width, height, pixels };
})();

const post = async (bytes: Uint8Array) => {
  const t = performance.now();
  const res = await fetch(`${sc.url}/v2/models/cnn/infer`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text), ms: performance.now() - t };
};

/** The files kept for one answer (every capture here shares a study, hence a case folder). */
const keptFiles = (answer: { case_id: string; id: string }) => {
  const folder = join(keepDir, answer.case_id);
  return existsSync(folder)
    ? readdirSync(folder)
        .filter((f) => f.startsWith(`${answer.id}-`))
        .map((f) => join(folder, f))
    : [];
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sidecar-deid-text-"));
  keepDir = join(dir, "keep");
  execFileSync("/usr/bin/python3", [
    join(import.meta.dirname, "..", "deid", "testing", "text_corpus.py"),
    dir,
    "3",
    "2024",
  ]);
  const truth = JSON.parse(readFileSync(join(dir, "truth.json"), "utf8")) as Truth[];
  const load = (t: Truth) => ({ gray: readPgm(new Uint8Array(readFileSync(join(dir, t.file)))), truth: t });
  withText = load(truth.find((t) => t.lines.length > 0) as Truth);
  noText = load(truth.find((t) => t.lines.length === 0) as Truth);
  writeFileSync(join(dir, "sig.json"), JSON.stringify(cnnCtSignature));
  sc = await startSidecarProcess(
    [
      "--model",
      writeModel(dir, "cnn"),
      "--name",
      "cnn",
      "--signature",
      join(dir, "sig.json"),
      "--deid-mode",
      "DataToModel",
      "--keep-dir",
      keepDir,
    ],
    {
      env: {
        MEDMLOPS_DEID_KEY: "a-de-identification-key-for-tests-only",
        MEDMLOPS_CASE_ID_KEY: "a-case-id-key-for-tests-only-0123456789",
      },
    },
  );
}, 120_000);

afterAll(async () => {
  await sc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("DataToModel burned-in text check (real sidecar process)", () => {
  it("the OCR oracle reads planted text in the original (so its silence on the kept file means something)", () => {
    const read = ocr(withText.gray).toUpperCase();
    const planted = withText.truth.lines.flatMap((l) => words(l.text));
    expect(planted.filter((w) => read.includes(w)).length).toBeGreaterThan(0);
  }, 60_000);

  it("a secondary capture with burned-in text: redacted before the model and before keeping", async () => {
    const res = await post(secondaryCapture(withText.gray, "1.2.826.0.1.3680043.2.1125.1.201"));
    expect(res.status, res.text).toBe(200);
    expect(res.json.deid_mode).toBe("DataToModel");
    for (const phi of ["SMITHSONIAN", "MRN4455667", ...withText.truth.lines.flatMap((l) => words(l.text))])
      expect(res.text.toUpperCase()).not.toContain(phi);
    const [kept, ...more] = keptFiles(res.json);
    expect(more).toHaveLength(0);
    const ds = readFile(new Uint8Array(readFileSync(kept as string))).dataset;
    expect(str(find(ds, TAG.DeidentificationMethod))).toMatch(/text check: redacted/);
    expect(str(find(ds, TAG.BurnedInAnnotation))).toBe("NO");
    const { width, height } = withText.gray;
    const pixels = (find(ds, TAG.PixelData)?.value ?? new Uint8Array()).subarray(0, width * height);
    // Every planted line's box is black in the kept file.
    for (const { box } of withText.truth.lines) {
      const [x0, y0, w, h] = box;
      let black = 0;
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) if (pixels[y * width + x] === 0) black++;
      expect(black / (w * h), `box ${box}`).toBeGreaterThan(0.98);
    }
    const read = ocr({ width, height, pixels }).toUpperCase();
    for (const w of withText.truth.lines.flatMap((l) => words(l.text))) expect(read).not.toContain(w);
    console.log(
      `burned-in text check, SC ${width}x${height} with text: ${Math.round(res.ms)} ms per request`,
    );
  }, 60_000);

  it("a secondary capture without text is accepted (it was refused) and kept with its pixels unchanged", async () => {
    const bytes = secondaryCapture(plain, "1.2.826.0.1.3680043.2.1125.1.202");
    const res = await post(bytes);
    expect(res.status, res.text).toBe(200);
    expect(res.json.outputs[0].predictions).toBeDefined();
    const [kept] = keptFiles(res.json);
    const ds = readFile(new Uint8Array(readFileSync(kept as string))).dataset;
    expect(str(find(ds, TAG.DeidentificationMethod))).toMatch(/text check: none found/);
    expect(str(find(ds, TAG.BurnedInAnnotation))).toBe("NO");
    expect(find(ds, TAG.PixelData)?.value).toEqual(plain.pixels);
    console.log(
      `burned-in text check, SC ${plain.width}x${plain.height} no text: ${Math.round(res.ms)} ms per request`,
    );
  }, 60_000);

  it("the corpus' text-free capture (speckle, blobs) is accepted too, whatever the detector makes of it", async () => {
    const res = await post(secondaryCapture(noText.gray, "1.2.826.0.1.3680043.2.1125.1.204"));
    expect(res.status, res.text).toBe(200);
    const [kept] = keptFiles(res.json);
    const ds = readFile(new Uint8Array(readFileSync(kept as string))).dataset;
    expect(str(find(ds, TAG.DeidentificationMethod))).toMatch(/text check: (none found|redacted)/);
    console.log(
      `corpus text-free SC: ${str(find(ds, TAG.DeidentificationMethod)).split("\\").pop()}, ${Math.round(res.ms)} ms`,
    );
  }, 60_000);

  it("an undecodable secondary capture: 422 DEID_FAILED with a stable code, no PHI, nothing kept", async () => {
    const before = readdirSync(keepDir).flatMap((d) => readdirSync(join(keepDir, d))).length;
    const res = await post(secondaryCapture(noText.gray, "1.2.826.0.1.3680043.2.1125.1.203", true));
    expect(res.status, res.text).toBe(422);
    expect(res.json.code).toBe("DEID_FAILED");
    expect(res.json.error).toContain("BURNED_IN_ANNOTATION");
    for (const phi of ["SMITHSONIAN", "MRN4455667", "1.2.826.0.1.3680043.2.1125"])
      expect(res.text).not.toContain(phi);
    expect(readdirSync(keepDir).flatMap((d) => readdirSync(join(keepDir, d))).length).toBe(before);
  }, 60_000);

  it("counts frames checked, images redacted and refused in /metrics", async () => {
    const m = await (await fetch(`${sc.metricsUrl}/metrics`)).text();
    const value = (event: string) =>
      Number(
        new RegExp(`medmlops_sidecar_deid_text_check_total\\{[^}]*event="${event}"[^}]*\\} (\\d+)`).exec(
          m,
        )?.[1],
      );
    expect(value("frame_checked")).toBeGreaterThanOrEqual(3);
    console.log(
      m
        .split("\n")
        .filter((l) => l.startsWith("medmlops_sidecar_deid"))
        .join("\n"),
    );
    expect(value("redacted")).toBeGreaterThanOrEqual(1);
    expect(value("redacted")).toBeLessThanOrEqual(2);
    expect(value("refused")).toBe(1);
  });
});

describe("DataToModel check bound and timeout (in-process sidecar, a detector held open)", () => {
  const key = keyFromSecret("a-de-identification-key-for-tests-only");
  const inject = (h: Awaited<ReturnType<typeof startHarness>>, bytes: Uint8Array) =>
    h.sidecar.app.inject({
      method: "POST",
      url: "/v2/models/cnn/infer",
      headers: { "content-type": "application/dicom" },
      payload: Buffer.from(bytes),
    });

  it("a full check queue answers 503 DEID_BUSY with Retry-After; the held requests then finish", async () => {
    let open = () => {};
    const held = new Promise<void>((r) => (open = r));
    let calls = 0;
    const detector = async () => {
      calls++;
      await held;
      return [];
    };
    const deid = deidGate("DataToModel", key, { limit: checkLimit(1, 1), detector });
    const h = await startHarness("cnn", { signature: Signature.parse(cnnCtSignature), deid });
    try {
      const bytes = secondaryCapture(plain, "1.2.826.0.1.3680043.2.1125.1.301");
      const running = inject(h, bytes);
      const waiting = inject(h, bytes);
      while (calls === 0) await new Promise((r) => setTimeout(r, 5));
      const busy = await inject(h, bytes);
      expect(busy.statusCode).toBe(503);
      expect(busy.json().code).toBe("DEID_BUSY");
      expect(busy.headers["retry-after"]).toBe("1");
      open();
      const first = await running;
      expect(first.statusCode, first.body).toBe(200);
      expect((await waiting).statusCode).toBe(200);
      expect(calls).toBe(2);
    } finally {
      open();
      await h.close();
    }
  }, 30_000);

  it("a check that outlasts --request-timeout-ms answers 503 TIMEOUT", async () => {
    const opens: (() => void)[] = [];
    const detector = () => new Promise<never[]>((resolve) => opens.push(() => resolve([])));
    const deid = deidGate("DataToModel", key, { limit: checkLimit(1, 1), detector });
    const h = await startHarness("cnn", {
      signature: Signature.parse(cnnCtSignature),
      deid,
      requestTimeoutMs: 200,
    });
    try {
      const res = await inject(h, secondaryCapture(plain, "1.2.826.0.1.3680043.2.1125.1.302"));
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe("TIMEOUT");
    } finally {
      for (const open of opens) open();
      await h.close();
    }
  }, 30_000);

  /** A detector whose runs are held until the test opens them, in call order. */
  const heldDetector = () => {
    const opens: (() => void)[] = [];
    const detector = () => new Promise<never[]>((resolve) => opens.push(() => resolve([])));
    const until = async (n: number) => {
      while (opens.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    return { opens, detector, until };
  };
  const deidMetric = (text: string, event: string) =>
    Number(
      new RegExp(`medmlops_sidecar_deid_text_check_total\\{[^}]*event="${event}"[^}]*\\} (\\d+)`).exec(
        text,
      )?.[1] ?? 0,
    );

  it("a timed-out check frees its slot at the next frame: the rest of its instances are never checked, the next request is", async () => {
    const d = heldDetector();
    const limit = checkLimit(1, 0);
    const deid = deidGate("DataToModel", key, { limit, detector: d.detector });
    const h = await startHarness("cnn", {
      signature: Signature.parse(cnnCtSignature),
      deid,
      requestTimeoutMs: 400,
    });
    try {
      const three = buildMultipart(
        [1, 2, 3].map((n) => secondaryCapture(plain, `1.2.826.0.1.3680043.2.1125.1.31${n}`)),
      );
      const timedOut = await h.sidecar.app.inject({
        method: "POST",
        url: "/v2/models/cnn/infer",
        headers: { "content-type": three.contentType },
        payload: three.body,
      });
      expect(timedOut.statusCode).toBe(503);
      expect(timedOut.json().code).toBe("TIMEOUT");
      expect(d.opens).toHaveLength(1);
      d.opens[0]!(); // the frame under way finishes; the check must stop there
      await new Promise((r) => setTimeout(r, 100));
      expect(d.opens).toHaveLength(1);
      expect([limit.running, limit.waiting]).toEqual([0, 0]);
      const next = inject(h, secondaryCapture(plain, "1.2.826.0.1.3680043.2.1125.1.314"));
      await d.until(2);
      d.opens[1]!();
      const res = await next;
      expect(res.statusCode, res.body).toBe(200);
      // Counted honestly: two frames checked, nothing refused (giving up is not a refusal of the image).
      const m = (await h.sidecar.metricsApp.inject("/metrics")).body;
      expect([deidMetric(m, "frame_checked"), deidMetric(m, "refused")]).toEqual([2, 0]);
    } finally {
      for (const open of d.opens) open();
      await h.close();
    }
  }, 30_000);

  it("a request that times out waiting for a check slot leaves the queue: it is never checked, and its place is free", async () => {
    const d = heldDetector();
    const limit = checkLimit(1, 1);
    const deid = deidGate("DataToModel", key, { limit, detector: d.detector });
    const h = await startHarness("cnn", {
      signature: Signature.parse(cnnCtSignature),
      deid,
      requestTimeoutMs: 1000,
    });
    try {
      const sc = (n: number) => secondaryCapture(plain, `1.2.826.0.1.3680043.2.1125.1.32${n}`);
      const running = inject(h, sc(1));
      await d.until(1);
      const waiting = inject(h, sc(2));
      expect((await running).json().code).toBe("TIMEOUT");
      expect((await waiting).json().code).toBe("TIMEOUT");
      expect([limit.running, limit.waiting]).toEqual([1, 0]); // the first frame still runs; nobody waits
      const third = inject(h, sc(3));
      while (limit.waiting === 0) await new Promise((r) => setTimeout(r, 5));
      d.opens[0]!();
      await d.until(2);
      d.opens[1]!();
      const res = await third;
      expect(res.statusCode, res.body).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(d.opens).toHaveLength(2); // the request that gave up in the queue never ran the detector
      expect([limit.running, limit.waiting]).toEqual([0, 0]);
    } finally {
      for (const open of d.opens) open();
      await h.close();
    }
  }, 30_000);
});
