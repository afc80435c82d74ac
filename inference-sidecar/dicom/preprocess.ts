/**
 * Decoded frame → model input, in the order radiology pipelines define it: modality LUT (rescale slope and
 * intercept), VOI window to [0, 1] (MONOCHROME1 inverted), colour to the declared channels, bilinear resize
 * (half-pixel centres, as OpenCV and torchvision), normalisation, layout. Pure functions over typed arrays.
 */
import type { DicomPreprocessing, InputSpec } from "../signature.ts";
import { columnTaps, tap, walkRows } from "./bilinear.ts";
import { grayPassInto, kernelTakes } from "./gray-kernel.ts";
import type { ImageHeader, Samples } from "./pixels.ts";

export interface Plan {
  height: number;
  width: number;
  channels: 1 | 3;
  layout: DicomPreprocessing["layout"];
  pre: DicomPreprocessing;
}

/** Where the layout keeps height, width and channels in the input shape. */
export function layoutAxes(layout: DicomPreprocessing["layout"]): {
  h: number;
  w: number;
  c: number;
  rank: number;
} {
  switch (layout) {
    case "NCHW":
      return { c: 1, h: 2, w: 3, rank: 4 };
    case "NHWC":
      return { h: 1, w: 2, c: 3, rank: 4 };
    case "CHW":
      return { c: 0, h: 1, w: 2, rank: 3 };
    case "HWC":
      return { h: 0, w: 1, c: 2, rank: 3 };
  }
}

/** The target size: `resize` if declared, else the input shape's fixed dims, else the image's own size. */
export function planFor(
  spec: InputSpec,
  pre: DicomPreprocessing,
  image: { rows: number; columns: number },
): Plan {
  const ax = layoutAxes(pre.layout);
  const dim = (i: number) =>
    spec.shape.length === ax.rank && (spec.shape[i] ?? -1) > 0 ? (spec.shape[i] as number) : undefined;
  const channels = (dim(ax.c) as 1 | 3 | undefined) ?? pre.channels;
  return {
    height: pre.resize?.height ?? dim(ax.h) ?? image.rows,
    width: pre.resize?.width ?? dim(ax.w) ?? image.columns,
    channels,
    layout: pre.layout,
    pre,
  };
}

/**
 * Modality LUT + VOI window over the frame: returns values in [0, 1] (MONOCHROME1 inverted unless told not
 * to), with `channels` samples per pixel.
 */
export function toIntensity(
  frame: Samples,
  h: ImageHeader,
  pre: DicomPreprocessing,
  channels: 1 | 3,
): Float32Array {
  const pixels = h.rows * h.columns;
  const samples = h.samplesPerPixel;
  const [slope, intercept] = rescaleOf(h, pre);
  const outCh = samples === 3 && channels === 3 ? 3 : 1;
  const n = pixels * outCh;
  const out = new Float32Array(n);
  const gray = samples === 1 || outCh === 3;
  // Colour → luminance when one channel is wanted.
  const stored = (p: number): number => {
    const k = p * samples;
    return 0.299 * (frame[k] as number) + 0.587 * (frame[k + 1] as number) + 0.114 * (frame[k + 2] as number);
  };
  const { a, b } = windowAffine(h, pre, slope, intercept, () => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = (gray ? (frame[i] as number) : stored(i)) * slope + intercept;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  });
  if (gray) {
    for (let i = 0; i < n; i++) {
      const v = (frame[i] as number) * a + b;
      // biome-ignore lint/complexity/useMathMinMax: the clamp every path (and gray-kernel.wat) shares; Math.max(0, -0) would turn -0 into 0
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  } else {
    for (let p = 0; p < n; p++) {
      const v = stored(p) * a + b;
      // biome-ignore lint/complexity/useMathMinMax: the clamp every path (and gray-kernel.wat) shares; Math.max(0, -0) would turn -0 into 0
      out[p] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

function rescaleOf(h: ImageHeader, pre: DicomPreprocessing): [number, number] {
  const r = pre.rescale;
  return r.fromHeader ? [h.rescaleSlope, h.rescaleIntercept] : [r.slope ?? 1, r.intercept ?? 0];
}

/**
 * Modality LUT and DICOM linear VOI ((x - (c - 0.5)) / (w - 1) + 0.5, clamped to [0, 1]; MONOCHROME1 inverted)
 * as one affine map of the stored value, v = clamp(stored * a + b). `range` gives the modality min–max when no
 * window applies.
 */
export function windowAffine(
  h: ImageHeader,
  pre: DicomPreprocessing,
  slope: number,
  intercept: number,
  range: () => [number, number],
): { a: number; b: number } {
  const w = pre.window;
  let center: number;
  let width: number;
  if (w && !w.fromHeader && w.center !== undefined && w.width !== undefined) {
    center = w.center;
    width = w.width;
  } else if (
    w?.fromHeader &&
    h.windowCenter !== undefined &&
    h.windowWidth !== undefined &&
    h.windowWidth > 0
  ) {
    center = h.windowCenter;
    width = h.windowWidth;
  } else if (w?.fromHeader && w.center !== undefined && w.width !== undefined) {
    // Header has no window: the declared one is the fallback.
    center = w.center;
    width = w.width;
  } else {
    // No window declared (or none in the header): stretch the frame's own range (PS3.3 C.11.2.1.2 linear form).
    const [lo, hi] = range();
    width = Math.max(hi - lo, 1) + 1;
    center = lo + (width - 1) / 2 + 0.5;
  }
  const k = 1 / Math.max(width - 1, 1e-6);
  let a = slope * k;
  let b = (intercept - center + 0.5) * k + 0.5;
  if (pre.invertMonochrome1 && h.photometric === "MONOCHROME1") {
    // 1 - clamp(v) = clamp(1 - v)
    a = -a;
    b = 1 - b;
  }
  return { a, b };
}

/**
 * The fast path for single-sample images (CT, MR, CR, DX, MG): window, resize, replicate, normalise and lay
 * out in one separable pass — each needed source row is windowed and interpolated horizontally once (two rows
 * cached), then rows are blended vertically. Same arithmetic, same order, as toIntensity + resizeInto.
 */
export function grayFrameInto(
  frame: Samples,
  h: ImageHeader,
  plan: Plan,
  out: Float32Array,
  offset: number,
): void {
  const srcH = h.rows;
  const srcW = h.columns;
  const [slope, intercept] = rescaleOf(h, plan.pre);
  const { a, b } = windowAffine(h, plan.pre, slope, intercept, () => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < srcH * srcW; i++) {
      const v = (frame[i] as number) * slope + intercept;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  });
  const { height: H, width: W, channels: C } = plan;
  const { x0s, x1s, fxs } = columnTaps(srcW, W);
  const { scales, shifts } = normalization(plan);
  const chw = plan.layout === "NCHW" || plan.layout === "CHW";
  if (chw && kernelTakes(frame)) {
    // 16-bit frames (nearly every grayscale modality) take the WebAssembly kernel: same bits, less time.
    grayPassInto(frame, { srcH, srcW, a, b, H, W, x0s, x1s, fxs, scales, shifts }, out, offset);
    return;
  }
  const rows = [new Float64Array(W), new Float64Array(W)] as const;
  const plane = H * W;
  walkRows(
    srcH,
    H,
    (slot, r) => {
      // Window and interpolate one source row horizontally.
      const buf = rows[slot] as Float64Array;
      const base = r * srcW;
      for (let x = 0; x < W; x++) {
        let p = Math.fround((frame[base + (x0s[x] as number)] as number) * a + b);
        // biome-ignore lint/complexity/useMathMinMax: the clamp every path (and gray-kernel.wat) shares; Math.max(0, -0) would turn -0 into 0
        p = p < 0 ? 0 : p > 1 ? 1 : p;
        let q = Math.fround((frame[base + (x1s[x] as number)] as number) * a + b);
        // biome-ignore lint/complexity/useMathMinMax: the clamp every path (and gray-kernel.wat) shares; Math.max(0, -0) would turn -0 into 0
        q = q < 0 ? 0 : q > 1 ? 1 : q;
        buf[x] = p + (q - p) * (fxs[x] as number);
      }
    },
    (y, topSlot, bottomSlot, wy) => {
      const top = rows[topSlot] as Float64Array;
      const bottom = rows[bottomSlot] as Float64Array;
      if (chw) {
        for (let c = 0; c < C; c++) {
          const scale = scales[c] as number;
          const shift = shifts[c] as number;
          const o = offset + c * plane + y * W;
          for (let x = 0; x < W; x++) {
            const t = top[x] as number;
            out[o + x] = (t + ((bottom[x] as number) - t) * wy) * scale + shift;
          }
        }
      } else {
        for (let x = 0; x < W; x++) {
          const t = top[x] as number;
          const v = t + ((bottom[x] as number) - t) * wy;
          const o = offset + (y * W + x) * C;
          for (let c = 0; c < C; c++) out[o + c] = v * (scales[c] as number) + (shifts[c] as number);
        }
      }
    },
  );
}

/** Per channel c, v * scales[c] + shifts[c] = (v - mean[c]) / std[c]; one mean/std serves every channel. */
function normalization(plan: Plan): { scales: number[]; shifts: number[] } {
  const mean = plan.pre.normalize?.mean ?? [0];
  const std = plan.pre.normalize?.std ?? [1];
  const scales = Array.from({ length: plan.channels }, (_, c) => 1 / (std[c] ?? std[0] ?? 1));
  const shifts = Array.from(
    { length: plan.channels },
    (_, c) => -(mean[c] ?? mean[0] ?? 0) * (scales[c] as number),
  );
  return { scales, shifts };
}

/**
 * Bilinear resize + channel replication + normalisation + layout, written into `out` at `offset`
 * (the item's slot in the batch tensor).
 */
export function resizeInto(
  src: Float32Array,
  srcH: number,
  srcW: number,
  srcCh: 1 | 3,
  plan: Plan,
  out: Float32Array,
  offset: number,
): void {
  const { height: H, width: W, channels: C } = plan;
  const { scales, shifts } = normalization(plan);
  const chw = plan.layout === "NCHW" || plan.layout === "CHW";
  const { x0s, x1s, fxs } = columnTaps(srcW, W);
  for (let y = 0; y < H; y++) {
    const { i0: y0, i1: y1, w: wy } = tap(y, srcH, H);
    const r0 = y0 * srcW;
    const r1 = y1 * srcW;
    if (srcCh === 1) {
      // Interpolate once, write every (replicated) channel with its own normalisation.
      for (let x = 0; x < W; x++) {
        const x0 = x0s[x] as number;
        const x1 = x1s[x] as number;
        const wx = fxs[x] as number;
        const a = src[r0 + x0] as number;
        const top = a + ((src[r0 + x1] as number) - a) * wx;
        const d = src[r1 + x0] as number;
        const bottom = d + ((src[r1 + x1] as number) - d) * wx;
        const v = top + (bottom - top) * wy;
        for (let c = 0; c < C; c++) {
          out[chw ? offset + c * H * W + y * W + x : offset + (y * W + x) * C + c] =
            v * (scales[c] as number) + (shifts[c] as number);
        }
      }
      continue;
    }
    for (let c = 0; c < C; c++) {
      const scale = scales[c] as number;
      const shift = shifts[c] as number;
      for (let x = 0; x < W; x++) {
        const x0 = x0s[x] as number;
        const x1 = x1s[x] as number;
        const wx = fxs[x] as number;
        const a = src[(r0 + x0) * 3 + c] as number;
        const b = src[(r0 + x1) * 3 + c] as number;
        const d = src[(r1 + x0) * 3 + c] as number;
        const e = src[(r1 + x1) * 3 + c] as number;
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[chw ? offset + c * H * W + y * W + x : offset + (y * W + x) * C + c] =
          (top + (bottom - top) * wy) * scale + shift;
      }
    }
  }
}

/** The tensor shape for `n` items under the plan's layout. */
export function tensorShape(plan: Plan, n: number): number[] {
  const { height: H, width: W, channels: C } = plan;
  switch (plan.layout) {
    case "NCHW":
      return [n, C, H, W];
    case "NHWC":
      return [n, H, W, C];
    case "CHW":
      return [C, H, W];
    case "HWC":
      return [H, W, C];
  }
}
