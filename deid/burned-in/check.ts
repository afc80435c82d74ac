/**
 * Detect, redact, verify: every frame of an image that may carry burned-in text goes through the text detector;
 * detected regions are blacked out with a margin and the redacted frame is checked again (up to three rounds,
 * each blacking out what the previous one left); the image is released only when the last check finds nothing.
 * The detector unsure (an undecodable frame) or text still found → the caller quarantines, as before.
 */
import { find, TAG } from "../dicom/element.ts";
import { readFile } from "../dicom/reader.ts";
import { type Box, detectText } from "./detector.ts";
import { blackout, frameLuminance, geometry, type Rect } from "./frames.ts";

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

export async function checkPixels(input: Uint8Array, detector: Detector = detectText): Promise<PixelVerdict> {
  const parsed = readFile(input);
  const le = parsed.ts.littleEndian;
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
