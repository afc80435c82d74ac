import { describe, expect, it } from "vitest";
import { DicomPreprocessing } from "../signature.ts";
import { imageHeader } from "../testing/dicom.ts";
import type { ImageHeader } from "./pixels.ts";
import { grayFrameInto, planFor, resizeInto, tensorShape, toIntensity } from "./preprocess.ts";

const header = (over: Partial<ImageHeader> = {}): ImageHeader =>
  imageHeader({ rescaleSlope: 2, rescaleIntercept: -100, ...over });

describe("DICOM preprocessing", () => {
  it("applies the modality LUT then the DICOM linear VOI window", () => {
    const pre = DicomPreprocessing.parse({ window: { center: 200, width: 201 } });
    const v = toIntensity(Int16Array.from([0, 100, 150, 300]), header(), pre, 1);
    // x = 2s - 100 → [-100, 100, 200, 500]; v = (x - 199.5) / 200 + 0.5, clamped
    expect(Array.from(v)).toEqual([0, Math.fround(0.0025), Math.fround(0.5025), 1]);
  });

  it("takes slope/intercept and window from the declaration or the header", () => {
    const fixed = DicomPreprocessing.parse({
      rescale: { fromHeader: false, slope: 1, intercept: 0 },
      window: { center: 100.5, width: 101 },
    });
    expect(Array.from(toIntensity(Int16Array.from([50, 100, 150, 0]), header(), fixed, 1))).toEqual([
      0, 0.5, 1, 0,
    ]);
    const fromHeader = DicomPreprocessing.parse({ window: { fromHeader: true } });
    const v = toIntensity(
      Int16Array.from([50, 100, 150, 0]),
      header({ windowCenter: 100.5, windowWidth: 101 }),
      fromHeader,
      1,
    );
    // 2s - 100 = [0, 100, 200, -100]
    expect(Array.from(v)).toEqual([0, 0.5, 1, 0]);
  });

  it("stretches min–max without a window and inverts MONOCHROME1", () => {
    const pre = DicomPreprocessing.parse({});
    expect(Array.from(toIntensity(Int16Array.from([10, 20, 30, 10]), header(), pre, 1))).toEqual([
      0, 0.5, 1, 0,
    ]);
    expect(
      Array.from(
        toIntensity(Int16Array.from([10, 20, 30, 10]), header({ photometric: "MONOCHROME1" }), pre, 1),
      ),
    ).toEqual([1, 0.5, 0, 1]);
    const keep = DicomPreprocessing.parse({ invertMonochrome1: false });
    expect(
      Array.from(
        toIntensity(Int16Array.from([10, 20, 30, 10]), header({ photometric: "MONOCHROME1" }), keep, 1),
      ),
    ).toEqual([0, 0.5, 1, 0]);
  });

  it("resizes bilinearly with half-pixel centres", () => {
    const pre = DicomPreprocessing.parse({ resize: { height: 4, width: 4 } });
    const plan = planFor({ name: "x", datatype: "FP32", shape: [-1, 1, -1, -1] }, pre, {
      rows: 2,
      columns: 2,
    });
    const out = new Float32Array(16);
    resizeInto(Float32Array.from([0, 1, 2, 3]), 2, 2, 1, plan, out, 0);
    expect(Array.from(out)).toEqual([
      0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3,
    ]);
  });

  it("replicates channels, normalises per channel and honours NHWC", () => {
    const pre = DicomPreprocessing.parse({
      channels: 3,
      layout: "NHWC",
      normalize: { mean: [0, 1, 2], std: [1, 2, 4] },
    });
    const plan = planFor({ name: "x", datatype: "FP32", shape: [-1, 1, 2, 3] }, pre, { rows: 1, columns: 2 });
    expect(tensorShape(plan, 5)).toEqual([5, 1, 2, 3]);
    const out = new Float32Array(6);
    resizeInto(Float32Array.from([2, 6]), 1, 2, 1, plan, out, 0);
    expect(Array.from(out)).toEqual([2, 0.5, 0, 6, 2.5, 1]);
  });

  it("takes the target size from fixed dims of the input shape", () => {
    const pre = DicomPreprocessing.parse({});
    expect(
      planFor({ name: "x", datatype: "FP32", shape: [-1, 1, 224, 224] }, pre, { rows: 512, columns: 512 }),
    ).toMatchObject({ height: 224, width: 224, channels: 1 });
    expect(
      planFor({ name: "x", datatype: "FP32", shape: [-1, 3, -1, -1] }, pre, { rows: 512, columns: 400 }),
    ).toMatchObject({ height: 512, width: 400, channels: 3 });
  });

  it("the fused grayscale path equals toIntensity + resizeInto bit for bit (down, up, layouts, no window, MONOCHROME1)", () => {
    const frame = Int16Array.from({ length: 37 * 23 }, (_, i) => ((i * 7919) % 3000) - 1000);
    const cases = [
      {
        pre: {
          window: { center: 40, width: 400 },
          channels: 3,
          normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        },
        shape: [-1, 3, 16, 11],
      },
      { pre: { layout: "NHWC", resize: { height: 50, width: 61 } }, shape: [-1, -1, -1, 1] },
      { pre: { window: { fromHeader: true }, invertMonochrome1: true }, shape: [-1, 1, 9, 9], mono1: true },
    ] as const;
    // 16-bit frames in channel-first layouts take the WebAssembly kernel; 8-bit and 32-bit frames the JavaScript pass.
    const frames = [
      frame,
      Uint8Array.from(frame, (v) => (v + 1000) % 256),
      Int32Array.from(frame, (v) => v * 3),
    ];
    for (const c of cases)
      for (const f of frames) {
        const pre = DicomPreprocessing.parse(c.pre);
        const h = header({
          rows: 37,
          columns: 23,
          windowCenter: 100,
          windowWidth: 900,
          photometric: "mono1" in c ? "MONOCHROME1" : "MONOCHROME2",
        });
        const plan = planFor({ name: "x", datatype: "FP32", shape: [...c.shape] }, pre, h);
        const n = plan.height * plan.width * plan.channels;
        const viaTwo = new Float32Array(n);
        resizeInto(toIntensity(f, h, pre, plan.channels), 37, 23, 1, plan, viaTwo, 0);
        const fused = new Float32Array(n);
        grayFrameInto(f, h, plan, fused, 0);
        expect(fused).toEqual(viaTwo);
      }
  });
});
