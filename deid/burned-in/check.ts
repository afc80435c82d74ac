/**
 * Detect, redact, verify: every frame of an image that may carry burned-in text goes through the text detector;
 * detected regions are blacked out with a margin and the redacted frame is checked again (up to three rounds,
 * each blacking out what the previous one left); the image is released only when the last check finds nothing.
 * The detector unsure (an undecodable frame) or text still found → the caller quarantines, as before.
 */
import { find, TAG } from "../dicom/element.ts";
import { readFile } from "../dicom/reader.ts";
import { type Box, detectText } from "./detector.ts";
import { blackout, frameLuminance, geometry, luminance8, type Rect } from "./frames.ts";

export type PixelVerdict =
  | { kind: "no-text"; frames: number }
  | { kind: "redacted"; frames: number; regions: number; pixelData: Uint8Array }
  | { kind: "refused"; reason: string };

const ROUNDS = 3;

/** Margin around a detected box: a third of its height, at least 4 pixels. */
export function withMargin(b: Box): Rect {
  const m = Math.max(4, b.height / 3);
  return { x: b.x - m, y: b.y - m, width: b.width + 2 * m, height: b.height + 2 * m };
}

export type Detector = (lum: Uint8Array, width: number, height: number) => Promise<Box[]>;

/**
 * Compressed pixel data (JPEG, JPEG-LS, JPEG 2000, RLE): decoded with the sidecar's codecs for the check only.
 * No text → released with the compressed bytes unchanged; text → refused (re-encoding redacted compressed
 * frames is not built yet).
 */
async function checkCompressed(input: Uint8Array, detector: Detector): Promise<PixelVerdict> {
  let decoded: Awaited<ReturnType<typeof import("../../inference-sidecar/dicom/pixels.ts").decodeImage>>;
  try {
    const { decodeImage } = await import("../../inference-sidecar/dicom/pixels.ts");
    decoded = await decodeImage(input);
  } catch {
    return { kind: "refused", reason: "compressed pixel data could not be decoded for the text check" };
  }
  const { rows, columns, samplesPerPixel: spp } = decoded.header;
  for (const [f, frame] of decoded.frames.entries()) {
    const mono1 = decoded.header.photometric === "MONOCHROME1";
    const bytes = luminance8(rows * columns, spp, mono1, (i, s) => frame[spp === 3 ? 3 * i + s : i] ?? 0);
    if ((await detector(bytes, columns, rows)).length > 0)
      return {
        kind: "refused",
        reason: `text detected in compressed frame ${f + 1}: redacting compressed pixel data is not built yet`,
      };
  }
  return { kind: "no-text", frames: decoded.frames.length };
}

export async function checkPixels(input: Uint8Array, detector: Detector = detectText): Promise<PixelVerdict> {
  const parsed = readFile(input);
  const le = parsed.ts.littleEndian;
  if (find(parsed.dataset, TAG.PixelData)?.fragments) return checkCompressed(input, detector);
  const g = geometry(parsed.dataset, le);
  if (typeof g === "string") return { kind: "refused", reason: g };
  const original = find(parsed.dataset, TAG.PixelData)?.value as Uint8Array;
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
  return pixel
    ? { kind: "redacted", frames: g.frames, regions, pixelData: pixel }
    : { kind: "no-text", frames: g.frames };
}
