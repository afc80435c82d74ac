/**
 * Burned-in text, end to end on the synthetic corpus (deid/testing/text_corpus.py: names, IDs, dates in DejaVu
 * fonts, 9–26 px, several greys, on speckle, gradients and dark fields), wrapped as ultrasound DICOM files:
 * every released image is read by an independent OCR (Debian's Tesseract) which must find none of the planted
 * words; text-free frames are released with Burned In Annotation NO; the check is recorded.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pydicomTestFiles } from "../test/fixtures/pydicom.ts";
import { deidentifyChecked } from "./burned-in/index.ts";
import { encodeRleFrame } from "../inference-sidecar/dicom/rle.ts";
import { type Element, find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { deidentify } from "./engine.ts";
import { uint16Of } from "./pixels.ts";
import { baseSpecs, buildFile, readWithDcmjs, TEST_KEY, us } from "./testing/build.ts";
import { type Gray, readPgm } from "./testing/pgm.ts";
import { ocr, words } from "./testing/tesseract.ts";
import type { DeidOutcome } from "./types.ts";
import { str } from "./values.ts";

interface Sample {
  gray: Gray;
  lines: string[];
  result: DeidOutcome;
}

interface Encoding {
  /** Transfer syntax; RLE takes `pixel` as one encapsulated frame. */
  ts?: string;
  pixel?: Uint8Array;
  photometric?: string;
  samples?: number;
}

function ultrasound(g: Gray, enc: Encoding = {}): Uint8Array {
  const ts = enc.ts ?? "1.2.840.10008.1.2.1";
  const encapsulated = ts === "1.2.840.10008.1.2.5";
  const specs = baseSpecs({ modality: "US" }).flatMap((s) => {
    if (s[0] === TAG.Rows) return [[s[0], s[1], us(g.height)] as typeof s];
    if (s[0] === TAG.Columns) return [[s[0], s[1], us(g.width)] as typeof s];
    if (s[0] === TAG.BitsAllocated) return [[s[0], s[1], us(8)] as typeof s];
    if (s[0] === 0x00280101) return [[s[0], s[1], us(8)] as typeof s];
    if (s[0] === 0x00280102) return [[s[0], s[1], us(7)] as typeof s];
    if (s[0] === TAG.SamplesPerPixel) return [[s[0], s[1], us(enc.samples ?? 1)] as typeof s];
    if (s[0] === TAG.PhotometricInterpretation && enc.photometric)
      return [[s[0], s[1], enc.photometric] as typeof s];
    if (s[0] === TAG.PixelData) return encapsulated ? [] : [[s[0], "OB", enc.pixel ?? g.pixels] as typeof s];
    return [s];
  });
  const extra: Element[] = encapsulated
    ? [
        {
          tag: TAG.PixelData,
          vr: "OB",
          value: new Uint8Array(),
          fragments: [new Uint8Array(), enc.pixel ?? g.pixels],
        },
      ]
    : [];
  if ((enc.samples ?? 1) === 3) extra.push({ tag: TAG.PlanarConfiguration, vr: "US", value: us(0) });
  return buildFile(specs, ts, extra);
}

function pixelsOf(output: Uint8Array, like: Gray): Gray {
  const px = find(readFile(output).dataset, TAG.PixelData)?.value ?? new Uint8Array();
  return { width: like.width, height: like.height, pixels: px.subarray(0, like.width * like.height) };
}

let samples: Sample[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "burned-in-"));
  execFileSync("/usr/bin/python3", [
    join(import.meta.dirname, "testing", "text_corpus.py"),
    dir,
    "15",
    "2024",
  ]);
  const truth = JSON.parse(readFileSync(join(dir, "truth.json"), "utf8")) as {
    file: string;
    lines: { text: string }[];
  }[];
  samples = [];
  for (const t of truth) {
    const gray = readPgm(new Uint8Array(readFileSync(join(dir, t.file))));
    const result = await deidentifyChecked(ultrasound(gray), { key: TEST_KEY });
    samples.push({ gray, lines: t.lines.map((l) => l.text), result });
  }
}, 300_000);

describe("burned-in text: detect, redact, verify", () => {
  it("the OCR oracle reads the planted text in the originals (so its silence below means something)", () => {
    const planted = samples.flatMap((s) => s.lines.flatMap(words));
    const read = samples.flatMap((s) => {
      const text = ocr(s.gray).toUpperCase();
      return s.lines.flatMap(words).filter((w) => text.includes(w));
    });
    expect(planted.length).toBeGreaterThan(15);
    expect(read.length / planted.length).toBeGreaterThan(0.4);
  }, 120_000);

  it("releases or quarantines every image; Tesseract finds no planted word in any released one", () => {
    let released = 0;
    for (const [i, s] of samples.entries()) {
      if (!s.result.ok) {
        expect(s.result.code, `image ${i}`).toBe("BURNED_IN_ANNOTATION");
        continue;
      }
      released++;
      const text = ocr(pixelsOf(s.result.output, s.gray)).toUpperCase();
      for (const w of s.lines.flatMap(words))
        expect(text.includes(w), `image ${i}: "${w}" readable`).toBe(false);
    }
    expect(released).toBeGreaterThanOrEqual(samples.length - 2);
  }, 120_000);

  it("records the check: redacted images carry 113101 and Burned In Annotation NO; text-free ones are released", () => {
    const withText = samples.filter((s) => s.lines.length > 0 && s.result.ok);
    expect(withText.length).toBeGreaterThan(5);
    let redacted = 0;
    for (const s of withText) {
      if (!s.result.ok) continue;
      const ds = readFile(s.result.output).dataset;
      expect(str(find(ds, TAG.BurnedInAnnotation))).toBe("NO");
      expect(str(find(ds, TAG.DeidentificationMethod))).toMatch(/text check: (redacted|none found)/);
      if (/redacted/.test(str(find(ds, TAG.DeidentificationMethod)))) {
        redacted++;
        const codes = find(ds, TAG.DeidentificationMethodCodeSequence)?.items?.map((it) =>
          str(find(it, TAG.CodeValue)),
        );
        expect(codes).toContain("113101");
        expect(s.result.warnings.join()).toMatch(/redacted/);
      }
    }
    // Most planted lines are legible: the redaction assertions above must have run, not only the no-text path.
    expect(redacted).toBeGreaterThanOrEqual(Math.ceil(withText.length / 2));
    const free = samples.filter((s) => s.lines.length === 0);
    expect(free.length).toBeGreaterThan(3);
    for (const s of free) expect(s.result.ok).toBe(true);
    const untouched = free.filter(
      (s) =>
        s.result.ok &&
        Buffer.from(pixelsOf(s.result.output, s.gray).pixels).equals(Buffer.from(s.gray.pixels)),
    );
    expect(untouched.length).toBeGreaterThanOrEqual(free.length - 1);
  });

  it("RLE-compressed and YBR colour images with text: decoded, redacted, written natively; Tesseract reads no planted word", async () => {
    const withText = samples.filter((s) => s.lines.length > 0).slice(0, 4);
    expect(withText.length).toBe(4);
    let redactedCount = 0;
    for (const [i, s] of withText.entries()) {
      const n = s.gray.width * s.gray.height;
      const rle = ultrasound(s.gray, {
        ts: "1.2.840.10008.1.2.5",
        pixel: encodeRleFrame(s.gray.pixels, n, 1, 8),
      });
      // YBR_FULL of a grey image: Y = grey, Cb = Cr = 128 (so its RGB is grey again).
      const ybr = new Uint8Array(3 * n);
      for (let p = 0; p < n; p++) ybr.set([s.gray.pixels[p] ?? 0, 128, 128], 3 * p);
      const colour = ultrasound(s.gray, { photometric: "YBR_FULL", samples: 3, pixel: ybr });
      for (const [kind, file] of [
        ["RLE", rle],
        ["YBR_FULL", colour],
      ] as const) {
        const r = await deidentifyChecked(file, { key: TEST_KEY });
        if (!r.ok) {
          expect(r.code, `${kind} image ${i}`).toBe("BURNED_IN_ANNOTATION");
          continue;
        }
        const out = readFile(r.output);
        expect(out.ts.uid, `${kind} image ${i}`).toBe("1.2.840.10008.1.2.1");
        const px = find(out.dataset, TAG.PixelData)?.value ?? new Uint8Array();
        const spp = kind === "RLE" ? 1 : 3;
        expect(px.length).toBe(n * spp);
        if (kind === "YBR_FULL") expect(str(find(out.dataset, TAG.PhotometricInterpretation))).toBe("RGB");
        const grey = new Uint8Array(n);
        for (let p = 0; p < n; p++) grey[p] = px[p * spp] ?? 0;
        const text = ocr({ width: s.gray.width, height: s.gray.height, pixels: grey }).toUpperCase();
        for (const w of s.lines.flatMap(words))
          expect(text.includes(w), `${kind} image ${i}: "${w}"`).toBe(false);
        if (/redacted/.test(str(find(out.dataset, TAG.DeidentificationMethod)))) redactedCount++;
      }
    }
    // Most of these images carry legible text: the redaction path must have run, not only the no-text one.
    expect(redactedCount).toBeGreaterThanOrEqual(4);
  }, 180_000);

  it("masks first, detection after them: text a manufacturer mask leaves is redacted; a clean masked image is released", async () => {
    const withText = samples.filter((s) => s.lines.length > 0 && s.result.ok).slice(0, 3);
    const free = samples.find((s) => s.lines.length === 0) as Sample;
    expect(withText.length).toBe(3);
    let afterMask = 0;
    // A mask over the top 4 rows only: it matches (manufacturer and size) but leaves the planted lines.
    const maskFor = (g: Gray) => [
      {
        manufacturer: "ACME MEDICAL",
        rows: g.height,
        columns: g.width,
        rectangles: [{ x: 0, y: 0, width: g.width, height: 4 }],
      },
    ];
    for (const [i, s] of withText.entries()) {
      const options = { key: TEST_KEY, options: ["CleanPixelData" as const], pixelMasks: maskFor(s.gray) };
      const engineOnly = deidentify(ultrasound(s.gray), options);
      expect(engineOnly.ok && engineOnly.maskedSuspect, `image ${i}: the engine masks and flags it`).toBe(
        true,
      );
      const r = await deidentifyChecked(ultrasound(s.gray), options);
      if (!r.ok) {
        expect(r.reason, `image ${i}`).toMatch(/manufacturer mask applied; text check after it/);
        continue;
      }
      afterMask++;
      expect(r.warnings.join(), `image ${i}`).toMatch(/mask left was redacted/);
      const out = pixelsOf(r.output, s.gray);
      expect(Array.from(out.pixels.subarray(0, 4 * s.gray.width)).every((v) => v === 0)).toBe(true); // the mask
      const text = ocr(out).toUpperCase();
      for (const w of s.lines.flatMap(words)) expect(text.includes(w), `image ${i}: "${w}"`).toBe(false);
    }
    expect(afterMask, "masked images redacted and released").toBeGreaterThanOrEqual(2);
    const clean = await deidentifyChecked(ultrasound(free.gray), {
      key: TEST_KEY,
      options: ["CleanPixelData"],
      pixelMasks: maskFor(free.gray),
    });
    if (!clean.ok) throw new Error(`${clean.code}: ${clean.reason}`);
    expect(clean.warnings).toContain("burned-in text check after the mask: no text found");
    expect(clean.maskedSuspect).toBeUndefined();
  }, 120_000);

  it("without the check (the engine alone) the same images are quarantined, fail-closed as before", () => {
    const r = deidentify(ultrasound(samples[0]?.gray as Gray), { key: TEST_KEY });
    expect(r.ok ? "ok" : r.code).toBe("BURNED_IN_ANNOTATION");
  });

  it("real files: text-free deflated and JPEG secondary captures are released (JPEG bytes unchanged)", async () => {
    const files = await pydicomTestFiles();
    const load = (n: string) =>
      new Uint8Array(readFileSync(files.find((f) => f.endsWith(`/${n}`)) as string));
    const dfl = await deidentifyChecked(load("image_dfl.dcm"), { key: TEST_KEY });
    expect(dfl.ok ? "ok" : `${dfl.code}: ${dfl.reason}`).toBe("ok");
    // Compressed: decoded for the check only; text-free → released with its compressed bytes unchanged.
    const input = load("SC_rgb_jpeg_dcmtk.dcm");
    const jpeg = await deidentifyChecked(input, { key: TEST_KEY });
    if (!jpeg.ok) throw new Error(`${jpeg.code}: ${jpeg.reason}`);
    const before = find(readFile(input).dataset, TAG.PixelData)?.fragments ?? [];
    const after = find(readFile(jpeg.output).dataset, TAG.PixelData)?.fragments ?? [];
    expect(after.length).toBe(before.length);
    for (const [i, f] of after.entries())
      expect(Buffer.from(f).equals(Buffer.from(before[i] ?? [])), `fragment ${i}`).toBe(true);
    expect(str(find(readFile(jpeg.output).dataset, TAG.BurnedInAnnotation))).toBe("NO");
    // Compressed with text (a stub detector that finds text in the top-left corner): decoded, redacted and
    // written natively — RGB, Explicit VR Little Endian, Lossy Image Compression kept at 01 (JPEG Baseline).
    // (Text "seen" while the corner is not black, so the re-check after the blackout finds none.)
    const corner = async (lum: Uint8Array) =>
      (lum[0] ?? 0) > 0 ? [{ x: 0, y: 0, width: 10, height: 10, score: 1 }] : [];
    const redacted = await deidentifyChecked(input, { key: TEST_KEY }, corner);
    if (!redacted.ok) throw new Error(`${redacted.code}: ${redacted.reason}`);
    const out = readFile(redacted.output);
    expect(out.ts.uid).toBe("1.2.840.10008.1.2.1");
    const px = find(out.dataset, TAG.PixelData);
    expect(px?.fragments).toBeUndefined();
    expect(str(find(out.dataset, TAG.PhotometricInterpretation))).toBe("RGB");
    expect(str(find(out.dataset, TAG.LossyImageCompression))).toBe("01");
    const rows = uint16Of(find(out.dataset, TAG.Rows), true) ?? 0;
    const cols = uint16Of(find(out.dataset, TAG.Columns), true) ?? 0;
    expect(px?.value.length).toBe(rows * cols * 3);
    expect(Array.from(px?.value.subarray(0, 3) ?? [])).toEqual([0, 0, 0]); // blacked out, margin included
    const centre = 3 * (Math.floor(rows / 2) * cols + Math.floor(cols / 2));
    expect(Array.from(px?.value.subarray(centre, centre + 3) ?? [])).not.toEqual([0, 0, 0]);
    expect(redacted.warnings.join()).toMatch(/decoded from 1\.2\.840\.10008\.1\.2\.4\.50/);
    // dcmjs (an independent parser) reads the result as a native RGB image.
    const dcmjs = readWithDcmjs(redacted.output);
    expect(dcmjs.meta.TransferSyntaxUID).toBe("1.2.840.10008.1.2.1");
  }, 60_000);
});
