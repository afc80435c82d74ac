/**
 * Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99) without a decompression bomb. Everything after
 * the file meta group is one raw deflate stream, so the image geometry is only known once some of it has been
 * inflated. The stream is inflated in chunks off the event loop (zlib's thread pool) and stopped at a cap:
 * until Pixel Data (7FE0,0010) appears, the header allowance; from then on, the bytes the declared geometry
 * needs (rows × columns × samples × bytes per sample × frames) plus a small allowance for trailing elements.
 * A 1 MB upload that would inflate to 1 GiB is refused after reading a few hundred kilobytes.
 */
import { createInflateRaw } from "node:zlib";
import { SidecarError } from "../errors.ts";

/** Inflated bytes allowed before Pixel Data is reached (the elements of the dataset ahead of it). */
export const HEADER_ALLOWANCE = 4 * 1024 * 1024;
/** Inflated bytes allowed after the declared Pixel Data (trailing elements, padding). */
export const TRAILER_ALLOWANCE = 64 * 1024;

const PIXEL_DATA_TAG = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);

export interface Geometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  frames: number;
}

/** Bytes of native pixel data the geometry declares. */
export function declaredPixelBytes(g: Geometry): number {
  return g.rows * g.columns * g.samplesPerPixel * Math.ceil(g.bitsAllocated / 8) * g.frames;
}

export interface InflateOptions {
  /** The largest decoded pixel data a request may declare, bytes. */
  maxDecodedBytes: number;
  /**
   * Reads the geometry from `prefix` (meta group + inflated dataset up to and including Pixel Data's element
   * header); undefined when the prefix does not parse (the tag bytes sat inside another value).
   */
  geometryOf: (prefix: Uint8Array) => Geometry | undefined;
}

const bomb = (what: string) =>
  new SidecarError("INFLATED_TOO_LARGE", `the deflated dataset inflates beyond ${what}; refused`);

/**
 * Inflates `bytes[position..]` and returns meta + inflated dataset as one array (what dicom-parser's inflater
 * must return), refusing with INFLATED_TOO_LARGE or INPUT_TOO_LARGE as soon as a cap is passed.
 */
export function inflateDataset(
  bytes: Uint8Array,
  position: number,
  opts: InflateOptions,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = createInflateRaw();
    const chunks: Buffer[] = [Buffer.from(bytes.buffer, bytes.byteOffset, position)];
    let total = 0; // inflated bytes so far
    let cap = HEADER_ALLOWANCE;
    let geometryKnown = false;
    let searchFrom = 0; // inflated offset from which Pixel Data's tag is still to be looked for
    // The inflated bytes ahead of Pixel Data, gathered in one buffer while the geometry is unknown.
    const head = Buffer.allocUnsafe(HEADER_ALLOWANCE);
    let headLength = 0;
    let settled = false;
    const stop = (err: Error) => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(err);
    };
    z.on("data", (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      total += chunk.length;
      if (!geometryKnown && total <= HEADER_ALLOWANCE) {
        chunk.copy(head, headLength);
        headLength += chunk.length;
        const inflated = head.subarray(0, headLength);
        for (
          let at = inflated.indexOf(PIXEL_DATA_TAG, searchFrom);
          at >= 0;
          at = inflated.indexOf(PIXEL_DATA_TAG, at + 1)
        ) {
          if (at + 12 > inflated.length) break; // its element header is not complete yet
          const g = opts.geometryOf(Buffer.concat([chunks[0] as Buffer, inflated.subarray(0, at + 12)]));
          searchFrom = at + 1;
          if (!g) continue;
          const pixels = declaredPixelBytes(g);
          if (pixels > opts.maxDecodedBytes) {
            stop(
              new SidecarError(
                "INPUT_TOO_LARGE",
                `the image declares ${pixels} bytes of pixel data; the limit is ${opts.maxDecodedBytes}`,
              ),
            );
            return;
          }
          cap = at + 12 + pixels + TRAILER_ALLOWANCE;
          geometryKnown = true;
          break;
        }
        if (!geometryKnown) searchFrom = Math.max(searchFrom, inflated.length - 11);
      }
      if (total > cap)
        stop(
          bomb(
            geometryKnown
              ? "what its declared image geometry needs"
              : `${HEADER_ALLOWANCE} bytes before Pixel Data`,
          ),
        );
    });
    z.on("error", () =>
      stop(new SidecarError("INVALID_DICOM", "the deflated dataset could not be inflated")),
    );
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    z.end(Buffer.from(bytes.buffer, bytes.byteOffset + position, bytes.length - position));
  });
}
