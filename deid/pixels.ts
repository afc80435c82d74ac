/**
 * Clean Pixel Data: burned-in text is blanked with rectangular masks configured per manufacturer / model /
 * image size. Images that are likely to carry burned-in text — BurnedInAnnotation YES, ultrasound, secondary
 * capture (screen captures, scanned documents) — are quarantined unless a matching mask was applied.
 * Masks can only be applied to native (uncompressed) pixel data; compressed images needing a mask are
 * quarantined rather than decoded and re-encoded.
 */
import { type Element, find, TAG } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import type { PixelMask } from "./types.ts";
import { str } from "./values.ts";

const SECONDARY_CAPTURE = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.7(\.[1-4])?$/;
const ULTRASOUND = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(6\.[12]|3\.1)$/;

/**
 * Below this an image cannot hold one legible line of an identifier: the smallest bitmap fonts scanners burn in
 * are 5×7 pixels in 6×8 cells, and a name or ID needs at least four characters — 24 × 8 pixels, either way round.
 */
export const LEGIBLE_TEXT_MIN = { shortSide: 8, longSide: 24 } as const;

/** Whether rows × columns is too small for one legible line of four characters of the smallest scanner font. */
export function tooSmallForText(rows: number, columns: number): boolean {
  return (
    Math.min(rows, columns) < LEGIBLE_TEXT_MIN.shortSide ||
    Math.max(rows, columns) < LEGIBLE_TEXT_MIN.longSide
  );
}

/**
 * Why this image must be assumed to carry burned-in text, or undefined. The rule: BurnedInAnnotation YES always;
 * otherwise ultrasound and secondary capture (by SOP class or modality) unless the image is too small for text
 * (LEGIBLE_TEXT_MIN). Other modalities (CT, MR, …) put annotations in overlays or headers, not pixels.
 */
export function burnedInSuspicion(ds: readonly Element[], le = true): string | undefined {
  if (!find(ds, TAG.PixelData)) return undefined;
  if (str(find(ds, TAG.BurnedInAnnotation)).toUpperCase() === "YES") return "BurnedInAnnotation is YES";
  const rows = uint16Of(find(ds, TAG.Rows), le);
  const columns = uint16Of(find(ds, TAG.Columns), le);
  if (rows !== undefined && columns !== undefined && tooSmallForText(rows, columns)) return undefined;
  const modality = str(find(ds, TAG.Modality)).toUpperCase();
  const sopClass = str(find(ds, TAG.SOPClassUID));
  if (modality === "US" || ULTRASOUND.test(sopClass)) return "ultrasound images carry burned-in text";
  if (SECONDARY_CAPTURE.test(sopClass) || modality === "SC")
    return "secondary capture images may carry burned-in text";
  return undefined;
}

/** The first value of a US element (Rows, Columns, Bits Allocated, …), or undefined when absent or short. */
export function uint16Of(e: Element | undefined, le: boolean): number | undefined {
  if (!e || e.value.length < 2) return undefined;
  const dv = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  return dv.getUint16(0, le);
}

export function findMask(
  ds: readonly Element[],
  masks: readonly PixelMask[],
  le: boolean,
): PixelMask | undefined {
  const rows = uint16Of(find(ds, TAG.Rows), le);
  const columns = uint16Of(find(ds, TAG.Columns), le);
  const manufacturer = str(find(ds, TAG.Manufacturer)).toUpperCase();
  const model = str(find(ds, TAG.ManufacturerModelName)).toUpperCase();
  return masks.find(
    (m) =>
      m.rows === rows &&
      m.columns === columns &&
      (m.manufacturer === undefined || m.manufacturer.toUpperCase() === manufacturer) &&
      (m.model === undefined || m.model.toUpperCase() === model),
  );
}

/** Returns a copy of the Pixel Data element with the mask's rectangles set to zero in every frame and sample. */
export function applyMask(ds: readonly Element[], mask: PixelMask, le: boolean): Element {
  const pixel = find(ds, TAG.PixelData);
  if (!pixel) throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", "no pixel data");
  if (pixel.fragments) {
    throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", "pixel mask needed but pixel data is compressed");
  }
  const rows = uint16Of(find(ds, TAG.Rows), le) ?? 0;
  const cols = uint16Of(find(ds, TAG.Columns), le) ?? 0;
  const bits = uint16Of(find(ds, TAG.BitsAllocated), le) ?? 0;
  const spp = uint16Of(find(ds, TAG.SamplesPerPixel), le) ?? 1;
  const planar = uint16Of(find(ds, TAG.PlanarConfiguration), le) ?? 0;
  const frames = Number.parseInt(str(find(ds, TAG.NumberOfFrames)) || "1", 10);
  if (bits % 8 !== 0 || bits === 0 || !Number.isFinite(frames) || frames < 1) {
    throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", `cannot mask ${bits}-bit pixel data`);
  }
  const bpp = bits / 8;
  const frameBytes = rows * cols * spp * bpp;
  if (pixel.value.length < frameBytes * frames) {
    throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", "pixel data shorter than its dimensions");
  }
  const out = Uint8Array.from(pixel.value);
  for (let f = 0; f < frames; f++) {
    for (const r of mask.rectangles) {
      const x0 = Math.max(0, r.x);
      const y0 = Math.max(0, r.y);
      const x1 = Math.min(cols, r.x + r.width);
      const y1 = Math.min(rows, r.y + r.height);
      if (x1 <= x0 || y1 <= y0) continue;
      for (let y = y0; y < y1; y++) {
        if (planar === 1 && spp > 1) {
          for (let s = 0; s < spp; s++) {
            const start = f * frameBytes + s * rows * cols * bpp + (y * cols + x0) * bpp;
            out.fill(0, start, start + (x1 - x0) * bpp);
          }
        } else {
          const start = f * frameBytes + (y * cols + x0) * spp * bpp;
          out.fill(0, start, start + (x1 - x0) * spp * bpp);
        }
      }
    }
  }
  return { ...pixel, value: out };
}
