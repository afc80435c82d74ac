/**
 * Bilinear sampling geometry with half-pixel centres (as OpenCV and torchvision resize): which source columns
 * and rows an output pixel blends, and with what weights. Shared by the JavaScript and WebAssembly passes.
 */

/** Source row (or column) taps of output index `i` when resizing `src` to `dst`: the two sources and the weight of the second. */
export function tap(i: number, src: number, dst: number): { i0: number; i1: number; w: number } {
  const f = Math.min(Math.max((i + 0.5) * (src / dst) - 0.5, 0), src - 1);
  const i0 = Math.floor(f);
  return { i0, i1: Math.min(i0 + 1, src - 1), w: f - i0 };
}

/** Column taps computed once per image: source columns x0, x1 and the weight of x1. */
export function columnTaps(srcW: number, W: number): { x0s: Int32Array; x1s: Int32Array; fxs: Float32Array } {
  const x0s = new Int32Array(W);
  const x1s = new Int32Array(W);
  const fxs = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const t = tap(x, srcW, W);
    x0s[x] = t.i0;
    x1s[x] = t.i1;
    fxs[x] = t.w;
  }
  return { x0s, x1s, fxs };
}

/**
 * The vertical walk of a separable resize: output rows in order, each blending two prepared source rows held in
 * two slots (0 and 1). Output rows walk down, so a source row is prepared at most once: when the previous bottom
 * row becomes the new top, the slots swap. `prepare(slot, row)` fills a slot with source row `row`;
 * `emit(y, top, bottom, wy)` writes output row y from the slots `top` and `bottom`.
 */
export function walkRows(
  srcH: number,
  H: number,
  prepare: (slot: number, row: number) => void,
  emit: (y: number, top: number, bottom: number, wy: number) => void,
): void {
  let top = 0;
  let bottom = 1;
  let inTop = -1;
  let inBottom = -1;
  for (let y = 0; y < H; y++) {
    const { i0, i1, w } = tap(y, srcH, H);
    if (inTop !== i0) {
      if (inBottom === i0) {
        [top, bottom] = [bottom, top];
        inBottom = -1;
      } else prepare(top, i0);
      inTop = i0;
    }
    if (inBottom !== i1) {
      prepare(bottom, i1);
      inBottom = i1;
    }
    emit(y, top, bottom, w);
  }
}
