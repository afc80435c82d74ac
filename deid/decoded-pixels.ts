/**
 * Writes redacted pixel data that the text check had to decode (compressed or YBR colour) back into the data
 * set as native samples: Pixel Data becomes one OB/OW value, the image pixel module says what the samples now
 * are (RGB interleaved or monochrome), and Lossy Image Compression stays "01" when the source was lossy.
 * The instance is then written as Explicit VR Little Endian (see engine.ts).
 */
import { type Element, TAG, type TransferSyntax, transferSyntax } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import type { DecodedPixels } from "./types.ts";
import { encode } from "./values.ts";

export const EXPLICIT_VR_LITTLE_ENDIAN = transferSyntax("1.2.840.10008.1.2.1") as TransferSyntax;

function us(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >> 8) & 0xff]);
}

function put(ds: Element[], e: Element): void {
  const i = ds.findIndex((x) => x.tag === e.tag);
  if (i >= 0) ds[i] = e;
  else ds.push(e);
}

/** Replaces the pixel data of `ds` (in place) with decoded little-endian samples laid out as `layout`. */
export function putDecodedPixels(
  ds: Element[],
  pixelData: Uint8Array,
  layout: DecodedPixels,
  source: TransferSyntax,
): void {
  // Other binary values keep the source's byte order; only a little-endian source can be re-written as LE.
  if (!source.littleEndian)
    throw new DeidError(
      "PIXEL_MASK_NOT_APPLICABLE",
      "decoded redaction of big-endian instances is not supported",
    );
  put(ds, { tag: TAG.PixelData, vr: layout.bitsAllocated === 16 ? "OW" : "OB", value: pixelData });
  put(ds, { tag: TAG.PhotometricInterpretation, vr: "CS", value: encode(layout.photometric, "CS") });
  put(ds, { tag: TAG.BitsAllocated, vr: "US", value: us(layout.bitsAllocated) });
  if (layout.photometric === "RGB") put(ds, { tag: TAG.PlanarConfiguration, vr: "US", value: us(0) });
  if (layout.lossy) put(ds, { tag: TAG.LossyImageCompression, vr: "CS", value: encode("01", "CS") });
}
