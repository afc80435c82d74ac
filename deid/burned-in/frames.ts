/**
 * Native (uncompressed) pixel data as frames for the text detector, and redaction back into the original
 * samples. Compressed pixel data is not decoded here (yet): such images stay quarantined when they need a check.
 */
import { type Element, find, TAG } from "../dicom/element.ts";
import { uint16Of } from "../pixels.ts";
import { str } from "../values.ts";

export interface Geometry {
  rows: number;
  columns: number;
  frames: number;
  spp: number;
  bytes: number;
  planar: number;
  signed: boolean;
  mono1: boolean;
  bitsStored: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function u16(ds: readonly Element[], tag: number, le: boolean): number | undefined {
  return uint16Of(find(ds, tag), le);
}

/** The geometry of native pixel data, or a reason why it cannot be read as frames. */
export function geometry(ds: readonly Element[], le: boolean): Geometry | string {
  const pixel = find(ds, TAG.PixelData);
  if (!pixel) return "no pixel data";
  if (pixel.fragments) return "compressed pixel data cannot be checked for text yet";
  const rows = u16(ds, TAG.Rows, le) ?? 0;
  const columns = u16(ds, TAG.Columns, le) ?? 0;
  const bits = u16(ds, TAG.BitsAllocated, le) ?? 0;
  const spp = u16(ds, TAG.SamplesPerPixel, le) ?? 1;
  const frames = Number.parseInt(str(find(ds, TAG.NumberOfFrames)) || "1", 10);
  const photometric = str(find(ds, TAG.PhotometricInterpretation)).toUpperCase();
  if (bits !== 8 && bits !== 16) return `${bits}-bit pixel data cannot be checked for text yet`;
  if (spp !== 1 && spp !== 3) return `${spp} samples per pixel cannot be checked for text`;
  if (spp === 3 && photometric !== "RGB") return `${photometric} colour cannot be checked for text yet`;
  if (!(rows > 0 && columns > 0 && frames >= 1)) return "pixel data without dimensions";
  if (pixel.value.length < rows * columns * spp * (bits / 8) * frames)
    return "pixel data shorter than its dimensions";
  return {
    rows,
    columns,
    frames,
    spp,
    bytes: bits / 8,
    planar: u16(ds, TAG.PlanarConfiguration, le) ?? 0,
    signed: u16(ds, 0x00280103, le) === 1,
    mono1: photometric === "MONOCHROME1",
    bitsStored: u16(ds, TAG.BitsStored, le) ?? bits,
  };
}

/** Byte offset of sample `s` of pixel `i` of frame `f` (planar or interleaved). */
function sampleOffset(g: Geometry, f: number, i: number, s: number): number {
  const frameSamples = g.rows * g.columns * g.spp;
  const index = g.planar === 1 && g.spp > 1 ? s * g.rows * g.columns + i : i * g.spp + s;
  return (f * frameSamples + index) * g.bytes;
}

function sampleAt(px: DataView, g: Geometry, f: number, i: number, s: number, le: boolean): number {
  const at = sampleOffset(g, f, i, s);
  if (g.bytes === 1) return g.signed ? px.getInt8(at) : px.getUint8(at);
  return g.signed ? px.getInt16(at, le) : px.getUint16(at, le);
}

/** One frame as 8-bit luminance (min–max scaled; MONOCHROME1 inverted), as the detector takes it. */
export function frameLuminance(pixel: Uint8Array, g: Geometry, f: number, le: boolean): Uint8Array {
  const px = new DataView(pixel.buffer, pixel.byteOffset, pixel.byteLength);
  const n = g.rows * g.columns;
  return luminance8(n, g.spp, g.mono1, (i, s) => sampleAt(px, g, f, i, s, le));
}

/**
 * `n` pixels as 8-bit luminance for the detector: RGB weighted (BT.601) when `spp` is 3, min–max scaled,
 * MONOCHROME1 inverted. Shared by native frames and by compressed frames decoded for the check.
 */
export function luminance8(
  n: number,
  spp: number,
  mono1: boolean,
  sample: (i: number, s: number) => number,
): Uint8Array {
  const raw = new Float32Array(n);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    let v = sample(i, 0);
    if (spp === 3) v = 0.299 * v + 0.587 * sample(i, 1) + 0.114 * sample(i, 2);
    raw[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint8Array(n);
  const span = max > min ? max - min : 1;
  for (let i = 0; i < n; i++) {
    const v = Math.round((255 * ((raw[i] ?? 0) - min)) / span);
    out[i] = mono1 ? 255 - v : v;
  }
  return out;
}

/** Sets the rectangles of frame `f` to black (the darkest displayable value) in place. */
export function blackout(
  pixel: Uint8Array,
  g: Geometry,
  f: number,
  rects: readonly Rect[],
  le: boolean,
): void {
  const px = new DataView(pixel.buffer, pixel.byteOffset, pixel.byteLength);
  const top = g.signed ? (1 << (g.bitsStored - 1)) - 1 : (1 << g.bitsStored) - 1;
  const bottom = g.signed ? -(1 << (g.bitsStored - 1)) : 0;
  const black = g.mono1 ? top : bottom;
  for (const r of rects) {
    const x0 = Math.max(0, Math.floor(r.x));
    const y0 = Math.max(0, Math.floor(r.y));
    const x1 = Math.min(g.columns, Math.ceil(r.x + r.width));
    const y1 = Math.min(g.rows, Math.ceil(r.y + r.height));
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++)
        for (let s = 0; s < g.spp; s++) {
          const at = sampleOffset(g, f, y * g.columns + x, s);
          if (g.bytes === 1) px.setUint8(at, black & 0xff);
          else px.setUint16(at, black & 0xffff, le);
        }
  }
}
