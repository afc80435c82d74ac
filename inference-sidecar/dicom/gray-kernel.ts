/**
 * The grayscale window + bilinear resize + normalise pass for 16-bit frames in channel-first layouts, on the
 * WebAssembly kernel in gray-kernel.wat. It is the hot loop of DICOM preprocessing (~2 ms of ~2.5 ms per CT
 * slice in JavaScript here); the kernel gives the same bits as the JavaScript path (see the .wat and the
 * tests) in less time, because it does the per-pixel work without JavaScript's bounds and type checks and
 * two pixels at a time. The row walk and taps (bilinear.ts) and the affine window stay in JavaScript.
 *
 * One instance per thread, used synchronously: the memory holds one frame at a time.
 */
import { ensureMemory, instantiate, type WasmMemory } from "../wasm.ts";
import { walkRows } from "./bilinear.ts";
import { WASM_BASE64 } from "./gray-kernel.wasm.ts";

interface Kernel {
  memory: WasmMemory;
  fill(
    src: number,
    signed: number,
    row: number,
    w: number,
    x0: number,
    x1: number,
    fx: number,
    a: number,
    b: number,
  ): void;
  blend(
    top: number,
    bottom: number,
    w: number,
    wy: number,
    out: number,
    plane: number,
    channels: number,
    s0: number,
    h0: number,
    s1: number,
    h1: number,
    s2: number,
    h2: number,
  ): void;
}

let kernel: Kernel | undefined;

function instance(): Kernel {
  kernel ??= instantiate<Kernel>(WASM_BASE64);
  return kernel;
}

/** Byte offsets of everything one pass needs, 16-byte aligned, and the total. */
function layout(srcPixels: number, W: number, outFloats: number) {
  const align = (n: number) => Math.ceil(n / 16) * 16;
  const frame = 0;
  const x0 = align(frame + srcPixels * 2);
  const x1 = align(x0 + W * 4);
  const fx = align(x1 + W * 4);
  const rowA = align(fx + W * 8);
  const rowB = align(rowA + W * 8);
  const out = align(rowB + W * 8);
  return { frame, x0, x1, fx, rowA, rowB, out, end: out + outFloats * 4 };
}

export interface GrayPass {
  srcH: number;
  srcW: number;
  /** The affine window: windowed = clamp01(f32(stored * a + b)). */
  a: number;
  b: number;
  H: number;
  W: number;
  /** Bilinear column taps (bilinear.ts columnTaps). */
  x0s: Int32Array;
  x1s: Int32Array;
  fxs: Float32Array;
  /** Per channel (1 or 3): value * scale + shift. */
  scales: number[];
  shifts: number[];
}

/** Whether the kernel takes this frame: 16-bit samples (CT, MR, CR, DX, MG, …). */
export function kernelTakes(frame: ArrayLike<number>): frame is Int16Array | Uint16Array {
  return frame instanceof Int16Array || frame instanceof Uint16Array;
}

/**
 * Writes the C×H×W result (channel planes one after another, as NCHW/CHW lay out one item) into `out` at
 * `offset`.
 */
export function grayPassInto(
  frame: Int16Array | Uint16Array,
  p: GrayPass,
  out: Float32Array,
  offset: number,
): void {
  const k = instance();
  const { srcH, srcW, H, W } = p;
  const C = p.scales.length;
  const plane = H * W;
  const at = layout(srcH * srcW, W, C * plane);
  ensureMemory(k.memory, at.end);
  const mem = k.memory.buffer;
  new Uint16Array(mem, at.frame, srcH * srcW).set(
    new Uint16Array(frame.buffer, frame.byteOffset, srcH * srcW),
  );
  new Int32Array(mem, at.x0, W).set(p.x0s);
  new Int32Array(mem, at.x1, W).set(p.x1s);
  new Float64Array(mem, at.fx, W).set(p.fxs);
  const signed = frame instanceof Int16Array ? 1 : 0;
  const [s0, s1 = 0, s2 = 0] = p.scales as [number, number?, number?];
  const [h0, h1 = 0, h2 = 0] = p.shifts as [number, number?, number?];
  const slots = [at.rowA, at.rowB] as const;
  walkRows(
    srcH,
    H,
    (slot, r) =>
      k.fill(at.frame + r * srcW * 2, signed, slots[slot] as number, W, at.x0, at.x1, at.fx, p.a, p.b),
    (y, top, bottom, wy) =>
      k.blend(
        slots[top] as number,
        slots[bottom] as number,
        W,
        wy,
        at.out + y * W * 4,
        plane * 4,
        C,
        s0,
        h0,
        s1,
        h1,
        s2,
        h2,
      ),
  );
  out.set(new Float32Array(mem, at.out, C * plane), offset);
}
