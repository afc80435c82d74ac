/**
 * Pixel data the text check cannot read in place — compressed (JPEG, JPEG-LS, JPEG 2000, RLE) or YBR colour —
 * decoded with the sidecar's codecs into native little-endian samples, so the same detect–redact–verify loop
 * runs on it. Redacted results are written back decoded (uncompressed), never re-encoded: a lossy re-encode
 * could blur a blacked-out region back into legibility, and a lossless one is not worth a codec dependency.
 */
import type { DecodedPixels } from "../types.ts";
import type { Geometry } from "./frames.ts";

/** Transfer syntaxes whose pixel data may have lost information (PS3.5 §8 and §10). */
const LOSSY = new Set([
  "1.2.840.10008.1.2.4.50", // JPEG Baseline
  "1.2.840.10008.1.2.4.51", // JPEG Extended
  "1.2.840.10008.1.2.4.81", // JPEG-LS near-lossless
  "1.2.840.10008.1.2.4.91", // JPEG 2000 (lossy or lossless)
  "1.2.840.10008.1.2.4.203", // HTJ2K (lossy or lossless)
]);

export interface DecodedNative {
  pixel: Uint8Array;
  geometry: Geometry;
  layout: DecodedPixels;
}

export type Decoded = Awaited<
  ReturnType<typeof import("../../inference-sidecar/dicom/pixels.ts").decodeImage>
>;

/** Decodes the instance's pixel data (every frame); throws when it cannot (the caller refuses the image). */
export async function decodePixels(input: Uint8Array): Promise<Decoded> {
  // Dynamic import: the codecs are WebAssembly modules that only images needing a decode should load.
  const { decodeImage } = await import("../../inference-sidecar/dicom/pixels.ts");
  return decodeImage(input);
}

/**
 * Decoded frames as one native little-endian buffer the redaction loop can write into, or the reason it cannot
 * hold them (32-bit or floating-point samples: such images can be checked, not redacted).
 */
export function toNative(decoded: Decoded): DecodedNative | string {
  const h = decoded.header;
  const first = decoded.frames[0];
  if (!first) return "no frames decoded";
  const bytes = first.BYTES_PER_ELEMENT;
  if (first instanceof Float32Array) return "floating-point samples cannot be redacted";
  if (bytes !== 1 && bytes !== 2) return `${8 * bytes}-bit samples cannot be redacted`;
  const signed = first instanceof Int8Array || first instanceof Int16Array;
  const perFrame = h.rows * h.columns * h.samplesPerPixel;
  const pixel = new Uint8Array(perFrame * bytes * decoded.frames.length);
  const view = new DataView(pixel.buffer);
  for (const [f, frame] of decoded.frames.entries()) {
    if (frame.length < perFrame) return `decoded frame ${f + 1} is shorter than its dimensions`;
    const base = f * perFrame;
    for (let i = 0; i < perFrame; i++) {
      const v = frame[i] as number;
      if (bytes === 1) view.setUint8(base + i, v & 0xff);
      else view.setUint16(2 * (base + i), v & 0xffff, true);
    }
  }
  const colour = h.samplesPerPixel === 3;
  return {
    pixel,
    geometry: {
      rows: h.rows,
      columns: h.columns,
      frames: decoded.frames.length,
      spp: h.samplesPerPixel,
      bytes,
      planar: 0,
      signed,
      mono1: h.photometric === "MONOCHROME1",
      bitsStored: Math.min(h.bitsStored, 8 * bytes),
    },
    layout: {
      // The decoders hand back RGB for every YBR variant (JPEG codecs convert; RLE and native YBR_FULL are
      // converted by decodeFrames).
      photometric: colour ? "RGB" : h.photometric,
      bitsAllocated: bytes === 1 ? 8 : 16,
      lossy: LOSSY.has(h.transferSyntax),
    },
  };
}
