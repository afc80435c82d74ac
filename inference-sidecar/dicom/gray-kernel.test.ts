import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble, generatedModule } from "../../scripts/build-wasm.ts";
import { DicomPreprocessing } from "../signature.ts";
import { imageHeader } from "../testing/dicom.ts";
import type { ImageHeader } from "./pixels.ts";
import { grayFrameInto, planFor, resizeInto, toIntensity } from "./preprocess.ts";

const header = (rows: number, columns: number, over: Partial<ImageHeader> = {}): ImageHeader =>
  imageHeader({ rows, columns, rescaleIntercept: -1024, windowCenter: 300, windowWidth: 1500, ...over });

/** The JavaScript two-pass reference: toIntensity, then resizeInto. */
function reference(
  frame: Int16Array | Uint16Array,
  h: ImageHeader,
  pre: DicomPreprocessing,
  shape: number[],
) {
  const plan = planFor({ name: "x", datatype: "FP32", shape }, pre, h);
  const out = new Float32Array(plan.height * plan.width * plan.channels);
  resizeInto(toIntensity(frame, h, pre, plan.channels), h.rows, h.columns, 1, plan, out, 0);
  return { plan, out };
}

describe("the WebAssembly grayscale kernel (16-bit frames, channel-first)", () => {
  const ct = DicomPreprocessing.parse({
    window: { center: 40, width: 400 },
    channels: 3,
    normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  });
  const cases: {
    name: string;
    rows: number;
    columns: number;
    unsigned?: boolean;
    pre: DicomPreprocessing;
    shape: number[];
    over?: Partial<ImageHeader>;
  }[] = [
    { name: "CT 512² → 3×224²", rows: 512, columns: 512, pre: ct, shape: [-1, 3, 224, 224] },
    {
      name: "uint16, odd output width, one channel, header window",
      rows: 97,
      columns: 131,
      unsigned: true,
      pre: DicomPreprocessing.parse({ window: { fromHeader: true } }),
      shape: [-1, 1, 45, 67],
      over: { pixelRepresentation: 0, rescaleIntercept: 0 },
    },
    {
      name: "upsampling (the last rows repeat), MONOCHROME1 inverted, CHW",
      rows: 13,
      columns: 9,
      pre: DicomPreprocessing.parse({ window: { center: 0, width: 800 }, layout: "CHW", channels: 3 }),
      shape: [3, 40, 31],
      over: { photometric: "MONOCHROME1" },
    },
    {
      name: "no window: the frame's own range",
      rows: 64,
      columns: 48,
      pre: DicomPreprocessing.parse({}),
      shape: [-1, 1, 32, 33],
    },
  ];

  for (const c of cases) {
    it(`equals the JavaScript two-pass path bit for bit: ${c.name}`, () => {
      const n = c.rows * c.columns;
      const frame = c.unsigned
        ? Uint16Array.from({ length: n }, (_, i) => (i * 7919) % 4096)
        : Int16Array.from({ length: n }, (_, i) => ((i * 7919) % 3000) - 1500);
      const h = header(c.rows, c.columns, c.over);
      const { plan, out: want } = reference(frame, h, c.pre, c.shape);
      // Written at an offset, as the item of a batch; the slots around it stay untouched.
      const size = want.length;
      const got = new Float32Array(size + 10).fill(-7);
      grayFrameInto(frame, h, plan, got, 5);
      expect(got.subarray(5, 5 + size)).toEqual(want);
      expect([...got.subarray(0, 5), ...got.subarray(5 + size)]).toEqual(new Array(10).fill(-7));
    });
  }

  it("grows its memory for a large frame and still gets a small one right afterwards", () => {
    for (const [rows, columns] of [
      [2048, 1536],
      [20, 30],
    ] as const) {
      const frame = Int16Array.from({ length: rows * columns }, (_, i) => (i % 2001) - 1000);
      const h = header(rows, columns);
      const { plan, out: want } = reference(frame, h, ct, [-1, 3, 96, 80]);
      const got = new Float32Array(want.length);
      grayFrameInto(frame, h, plan, got, 0);
      expect(got).toEqual(want);
    }
  });

  it("reads a frame that is a view into a larger buffer at an offset", () => {
    const backing = new Int16Array(5 + 40 * 30);
    for (let i = 0; i < backing.length; i++) backing[i] = ((i * 31) % 1200) - 600;
    const frame = backing.subarray(5);
    const h = header(40, 30);
    const { plan, out: want } = reference(frame, h, ct, [-1, 3, 17, 17]);
    const got = new Float32Array(want.length);
    grayFrameInto(frame, h, plan, got, 0);
    expect(got).toEqual(want);
  });

  it("its committed bytes are what gray-kernel.wat assembles to (npm run build:wasm)", async () => {
    const bytes = await assemble(join(import.meta.dirname, "gray-kernel.wat"));
    const committed = readFileSync(join(import.meta.dirname, "gray-kernel.wasm.ts"), "utf8");
    expect(committed).toBe(generatedModule("gray-kernel.wat", bytes));
  });
});
