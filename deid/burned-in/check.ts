/**
 * Detect, redact, verify: every frame of an image that may carry burned-in text goes through the text detector;
 * detected regions are blacked out with a margin and the redacted frame is checked again (up to three rounds,
 * each blacking out what the previous one left); the image is released only when the last check finds nothing.
 * Compressed and YBR pixel data are decoded first (decoded.ts). The detector unsure (an undecodable frame) or
 * text still found → the caller quarantines, as before.
 */
import { find, TAG } from "../dicom/element.ts";
import { readFile } from "../dicom/reader.ts";
import { uint16Of } from "../pixels.ts";
import type { DecodedPixels } from "../types.ts";
import { str } from "../values.ts";
import { type Decoded, decodePixels, toNative } from "./decoded.ts";
import { type Box, detectText } from "./detector.ts";
import { blackout, frameLuminance, type Geometry, geometry, luminance8, type Rect } from "./frames.ts";

export type PixelVerdict =
  | { kind: "no-text"; frames: number }
  | { kind: "redacted"; frames: number; regions: number; pixelData: Uint8Array; decoded?: DecodedPixels }
  | { kind: "refused"; reason: string };

const ROUNDS = 3;

/** Margin around a detected box: a third of its height, at least 4 pixels. */
export function withMargin(b: Box): Rect {
  const m = Math.max(4, b.height / 3);
  return { x: b.x - m, y: b.y - m, width: b.width + 2 * m, height: b.height + 2 * m };
}

export type Detector = (lum: Uint8Array, width: number, height: number) => Promise<Box[]>;

type LoopResult =
  | { kind: "no-text" }
  | { kind: "redacted"; regions: number; pixel: Uint8Array }
  | { kind: "refused"; reason: string };

/** Detect, black out, detect again — per frame, up to ROUNDS times; copies `original` before the first write. */
async function detectAndRedact(
  original: Uint8Array,
  g: Geometry,
  le: boolean,
  detector: Detector,
): Promise<LoopResult> {
  let pixel: Uint8Array | undefined;
  let regions = 0;
  for (let f = 0; f < g.frames; f++) {
    let round = 0;
    for (;;) {
      const lum = frameLuminance(pixel ?? original, g, f, le);
      const boxes = await detector(lum, g.columns, g.rows);
      if (boxes.length === 0) break;
      if (++round > ROUNDS) {
        return {
          kind: "refused",
          reason: `text still detected in frame ${f + 1} after ${ROUNDS} rounds of redaction`,
        };
      }
      pixel ??= Uint8Array.from(original);
      blackout(pixel, g, f, boxes.map(withMargin), le);
      regions += boxes.length;
    }
  }
  return pixel ? { kind: "redacted", regions, pixel } : { kind: "no-text" };
}

/**
 * Compressed (JPEG, JPEG-LS, JPEG 2000, RLE) or YBR pixel data: decoded to native samples for the check.
 * No text → released with the original bytes unchanged; text → the redacted decoded samples are released,
 * written uncompressed as RGB or monochrome (deid/burned-in/decoded.ts says why not re-encoded).
 */
async function checkDecoded(input: Uint8Array, detector: Detector): Promise<PixelVerdict> {
  let decoded: Decoded;
  try {
    decoded = await decodePixels(input);
  } catch {
    return { kind: "refused", reason: "pixel data could not be decoded for the text check" };
  }
  const native = toNative(decoded);
  if (typeof native === "string") return checkOnly(decoded, native, detector);
  const g = native.geometry;
  const result = await detectAndRedact(native.pixel, g, true, detector);
  if (result.kind === "refused") return result;
  if (result.kind === "no-text") return { kind: "no-text", frames: g.frames };
  return {
    kind: "redacted",
    frames: g.frames,
    regions: result.regions,
    pixelData: result.pixel,
    decoded: native.layout,
  };
}

/** Decoded frames the loop cannot write into (32-bit, float): released when text-free, refused otherwise. */
async function checkOnly(decoded: Decoded, whyNot: string, detector: Detector): Promise<PixelVerdict> {
  const { rows, columns, samplesPerPixel: spp, photometric } = decoded.header;
  for (const [f, frame] of decoded.frames.entries()) {
    const lum = luminance8(rows * columns, spp, photometric === "MONOCHROME1", (i, s) =>
      Number(frame[spp === 3 ? 3 * i + s : i] ?? 0),
    );
    if ((await detector(lum, columns, rows)).length > 0)
      return { kind: "refused", reason: `text detected in frame ${f + 1}; ${whyNot}` };
  }
  return { kind: "no-text", frames: decoded.frames.length };
}

/** Native colour that is not RGB (YBR_FULL, YBR_FULL_422): the detector reads it after conversion to RGB. */
function nativeNeedsDecoding(ds: Parameters<typeof find>[0], le: boolean): boolean {
  const spp = uint16Of(find(ds, TAG.SamplesPerPixel), le) ?? 1;
  return spp === 3 && str(find(ds, TAG.PhotometricInterpretation)).toUpperCase().startsWith("YBR");
}

export async function checkPixels(input: Uint8Array, detector: Detector = detectText): Promise<PixelVerdict> {
  const parsed = readFile(input);
  const le = parsed.ts.littleEndian;
  if (find(parsed.dataset, TAG.PixelData)?.fragments || nativeNeedsDecoding(parsed.dataset, le))
    return checkDecoded(input, detector);
  const g = geometry(parsed.dataset, le);
  if (typeof g === "string") return { kind: "refused", reason: g };
  const original = find(parsed.dataset, TAG.PixelData)?.value as Uint8Array;
  const result = await detectAndRedact(original, g, le, detector);
  if (result.kind === "refused") return result;
  return result.kind === "redacted"
    ? { kind: "redacted", frames: g.frames, regions: result.regions, pixelData: result.pixel }
    : { kind: "no-text", frames: g.frames };
}
