/**
 * DICOM Part 10 → decoded frames. dicom-parser reads the elements (no copy); pixel data is decoded per
 * transfer syntax: native little/big endian, RLE, JPEG baseline (libjpeg-turbo), JPEG lossless
 * (jpeg-lossless-decoder-js), JPEG-LS (CharLS), JPEG 2000 / HTJ2K (OpenJPEG). Output: stored values,
 * interleaved samples, signedness and BitsStored applied.
 */
import jpegFactory from "@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs";
import charlsFactory from "@cornerstonejs/codec-charls/decodewasmjs";
import openjpegFactory from "@cornerstonejs/codec-openjpeg/decodewasmjs";
import * as dicomParserNs from "dicom-parser";
import { Decoder as LosslessDecoder } from "jpeg-lossless-decoder-js";
import { SidecarError } from "../errors.ts";
import { declaredPixelBytes, inflateDataset } from "./inflate.ts";
import { decodeRleFrame } from "./rle.ts";

// dicom-parser ships a UMD bundle: under Node's ESM loader its functions sit on `default`, under bundlers on
// the namespace itself.
const dicomParser = ((dicomParserNs as unknown as { default?: typeof dicomParserNs }).default ??
  dicomParserNs) as typeof dicomParserNs;

export const TS = {
  implicitLE: "1.2.840.10008.1.2",
  explicitLE: "1.2.840.10008.1.2.1",
  deflatedLE: "1.2.840.10008.1.2.1.99",
  explicitBE: "1.2.840.10008.1.2.2",
  jpegBaseline: "1.2.840.10008.1.2.4.50",
  jpegExtended: "1.2.840.10008.1.2.4.51",
  jpegLossless: "1.2.840.10008.1.2.4.57",
  jpegLosslessSV1: "1.2.840.10008.1.2.4.70",
  jpegLsLossless: "1.2.840.10008.1.2.4.80",
  jpegLsNear: "1.2.840.10008.1.2.4.81",
  j2kLossless: "1.2.840.10008.1.2.4.90",
  j2k: "1.2.840.10008.1.2.4.91",
  htj2kLossless: "1.2.840.10008.1.2.4.201",
  htj2kLosslessRpcl: "1.2.840.10008.1.2.4.202",
  htj2k: "1.2.840.10008.1.2.4.203",
  rle: "1.2.840.10008.1.2.5",
} as const;

const NATIVE = new Set<string>([TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE]);
const J2K = new Set<string>([TS.j2kLossless, TS.j2k, TS.htj2kLossless, TS.htj2kLosslessRpcl, TS.htj2k]);
export const SUPPORTED_TRANSFER_SYNTAXES = Object.values(TS);

export type Samples =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array;

export interface ImageHeader {
  transferSyntax: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometric: string;
  frames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  studyInstanceUid?: string;
}

export interface DecodedImage {
  header: ImageHeader;
  /** One array per frame: rows × columns × samples, interleaved, stored values. */
  frames: Samples[];
}

function firstNumber(ds: dicomParserNs.DataSet, tag: string): number | undefined {
  const s = ds.string(tag);
  if (s === undefined || s === "") return undefined;
  const v = Number.parseFloat(s.split("\\")[0] ?? "");
  return Number.isFinite(v) ? v : undefined;
}

/** Per-request bounds on decoding work (see docs/sidecar.md, "Bounded work per request"). */
export interface DecodeLimits {
  /** The most decoded pixel bytes (all frames) an image may declare; also bounds inflating deflated files. */
  maxDecodedBytes: number;
}
export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;

function parseWith(bytes: Uint8Array, options: dicomParserNs.ParseDicomOptions): dicomParserNs.DataSet {
  try {
    return dicomParser.parseDicom(bytes, options);
  } catch (e) {
    const inner = (e as { exception?: unknown }).exception ?? e;
    const msg = typeof inner === "string" ? inner : inner instanceof Error ? inner.message : "parse error";
    // dicom-parser's messages name tags and offsets, never values.
    throw new SidecarError("INVALID_DICOM", `not a readable DICOM Part 10 instance: ${msg.slice(0, 160)}`);
  }
}

/** The dataset is already inflated (inflate.ts): dicom-parser's inflater hook hands it back unchanged. */
const inflated = { inflater: (arr: Uint8Array) => arr } as unknown as dicomParserNs.ParseDicomOptions;

/**
 * Parses a Part 10 instance. A deflated dataset is inflated off the event loop with a cap derived from the
 * geometry it declares (inflate.ts), never all at once.
 */
export async function parseDicom(
  bytes: Uint8Array,
  limits: DecodeLimits = { maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES },
): Promise<dicomParserNs.DataSet> {
  let meta: dicomParserNs.DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch {
    return parseWith(bytes, {}); // reports why it is not a Part 10 instance
  }
  const ts = (meta.string("x00020010") ?? "").replace(/\0/g, "").trim();
  if (ts !== TS.deflatedLE || meta.position === undefined) return parseWith(bytes, {});
  const full = await inflateDataset(bytes, meta.position, {
    maxDecodedBytes: limits.maxDecodedBytes,
    geometryOf: (prefix) => {
      try {
        const ds = dicomParser.parseDicom(prefix, {
          ...inflated,
          untilTag: "x7fe00010",
        } as dicomParserNs.ParseDicomOptions);
        const h = readHeader(ds);
        return h;
      } catch {
        return undefined;
      }
    },
  });
  return parseWith(full, inflated);
}

/** Decoded bytes an image declares (all frames), before anything is decoded. */
export function declaredDecodedBytes(h: ImageHeader): number {
  return declaredPixelBytes(h);
}

export function readHeader(ds: dicomParserNs.DataSet): ImageHeader {
  const transferSyntax = (ds.string("x00020010") ?? TS.implicitLE).replace(/\0/g, "").trim();
  const rows = ds.uint16("x00280010") ?? 0;
  const columns = ds.uint16("x00280011") ?? 0;
  if (!ds.elements.x7fe00010)
    throw new SidecarError("UNSUPPORTED_PIXEL_DATA", "the instance has no Pixel Data (7FE0,0010)");
  if (rows === 0 || columns === 0) throw new SidecarError("INVALID_DICOM", "Rows/Columns missing or zero");
  const bitsAllocated = ds.uint16("x00280100") ?? 16;
  return {
    transferSyntax,
    rows,
    columns,
    samplesPerPixel: ds.uint16("x00280002") ?? 1,
    bitsAllocated,
    bitsStored: ds.uint16("x00280101") ?? bitsAllocated,
    pixelRepresentation: ds.uint16("x00280103") ?? 0,
    planarConfiguration: ds.uint16("x00280006") ?? 0,
    photometric: (ds.string("x00280004") ?? "MONOCHROME2").trim(),
    frames: Math.max(1, Number.parseInt(ds.string("x00280008") ?? "1", 10) || 1),
    rescaleSlope: firstNumber(ds, "x00281053") ?? 1,
    rescaleIntercept: firstNumber(ds, "x00281052") ?? 0,
    windowCenter: firstNumber(ds, "x00281050"),
    windowWidth: firstNumber(ds, "x00281051"),
    studyInstanceUid: ds.string("x0020000d")?.replace(/\0/g, "").trim() || undefined,
  };
}

interface Codecs {
  jpeg: Awaited<ReturnType<typeof jpegFactory>>;
  charls: Awaited<ReturnType<typeof charlsFactory>>;
  openjpeg: Awaited<ReturnType<typeof openjpegFactory>>;
}
let codecs: Promise<Codecs> | undefined;

/** Instantiates the WASM codecs once (a few ms); call at startup so the first request does not pay it. */
export function loadCodecs(): Promise<Codecs> {
  // Emscripten prints codec chatter (OpenJPEG's [INFO] lines) to stdout; logs must stay JSON.
  const quiet = { print: () => {}, printErr: () => {} };
  codecs ??= Promise.all([jpegFactory(quiet), charlsFactory(quiet), openjpegFactory(quiet)]).then(
    ([jpeg, charls, openjpeg]) => ({ jpeg, charls, openjpeg }),
  );
  return codecs;
}

function frameFragments(ds: dicomParserNs.DataSet, h: ImageHeader, index: number): Uint8Array {
  const el = ds.elements.x7fe00010 as dicomParserNs.Element;
  const fragments = el.fragments ?? [];
  if (fragments.length === 0)
    throw new SidecarError("INVALID_DICOM", "encapsulated Pixel Data has no fragments");
  if (h.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
  if ((el.basicOffsetTable?.length ?? 0) > 0) return dicomParser.readEncapsulatedImageFrame(ds, el, index);
  if (fragments.length === h.frames)
    return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, index, 1);
  if (
    h.transferSyntax.startsWith("1.2.840.10008.1.2.4.5") ||
    h.transferSyntax.startsWith("1.2.840.10008.1.2.4.7")
  ) {
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    return dicomParser.readEncapsulatedImageFrame(ds, el, index, table);
  }
  throw new SidecarError(
    "UNSUPPORTED_PIXEL_DATA",
    "multi-frame encapsulated Pixel Data without an offset table",
  );
}

/** Applies signedness and BitsStored to unsigned stored words (sign extension from BitsStored). */
function toStored(raw: Uint8Array | Uint16Array | Uint32Array, h: ImageHeader): Samples {
  const { bitsStored, bitsAllocated, pixelRepresentation } = h;
  const signed = pixelRepresentation === 1;
  if (bitsStored === bitsAllocated) {
    if (!signed) return raw;
    return raw instanceof Uint8Array
      ? new Int8Array(raw.buffer, raw.byteOffset, raw.length)
      : raw instanceof Uint16Array
        ? new Int16Array(raw.buffer, raw.byteOffset, raw.length)
        : new Int32Array(raw.buffer, raw.byteOffset, raw.length);
  }
  const mask = 2 ** bitsStored - 1;
  const out = signed
    ? new Int32Array(raw.length)
    : raw instanceof Uint8Array
      ? new Uint8Array(raw.length)
      : raw instanceof Uint16Array
        ? new Uint16Array(raw.length)
        : new Uint32Array(raw.length);
  const signBit = 2 ** (bitsStored - 1);
  for (let i = 0; i < raw.length; i++) {
    const v = (raw[i] as number) & mask;
    out[i] = signed && v >= signBit ? v - 2 ** bitsStored : v;
  }
  return out;
}

function nativeFrame(ds: dicomParserNs.DataSet, h: ImageHeader, index: number): Samples {
  const el = ds.elements.x7fe00010 as dicomParserNs.Element;
  const bytesPer = h.bitsAllocated / 8;
  if (![1, 2, 4].includes(bytesPer))
    throw new SidecarError("UNSUPPORTED_PIXEL_DATA", `${h.bitsAllocated} bits allocated is not supported`);
  const count = h.rows * h.columns * h.samplesPerPixel;
  // YBR_FULL_422 stores two luma samples per chroma pair: 2 bytes per pixel instead of 3.
  const subsampled = h.samplesPerPixel === 3 && h.photometric === "YBR_FULL_422" && bytesPer === 1;
  const frameBytes = subsampled ? h.rows * h.columns * 2 : count * bytesPer;
  const start = el.dataOffset + index * frameBytes;
  if (start + frameBytes > ds.byteArray.length)
    throw new SidecarError("INVALID_DICOM", "Pixel Data is shorter than Rows × Columns × frames");
  let bytes = ds.byteArray.subarray(start, start + frameBytes);
  if (subsampled) return upsample422(bytes, h.rows * h.columns);
  const bigEndian = h.transferSyntax === TS.explicitBE;
  if ((bigEndian && bytesPer > 1) || bytes.byteOffset % bytesPer !== 0) {
    const copy = new Uint8Array(bytes);
    if (bigEndian && bytesPer === 2) Buffer.from(copy.buffer).swap16();
    if (bigEndian && bytesPer === 4) Buffer.from(copy.buffer).swap32();
    bytes = copy;
  }
  let raw: Uint8Array | Uint16Array | Uint32Array =
    bytesPer === 1
      ? bytes
      : bytesPer === 2
        ? new Uint16Array(bytes.buffer, bytes.byteOffset, count)
        : new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  if (h.samplesPerPixel > 1 && h.planarConfiguration === 1)
    raw = interleave(raw, h.rows * h.columns, h.samplesPerPixel);
  return toStored(raw, h);
}

function interleave<T extends Uint8Array | Uint16Array | Uint32Array>(
  planar: T,
  pixels: number,
  samples: number,
): T {
  const out = new (planar.constructor as new (n: number) => T)(planar.length);
  for (let s = 0; s < samples; s++)
    for (let p = 0; p < pixels; p++) out[p * samples + s] = planar[s * pixels + p] as number;
  return out;
}

function wasmDecode(decoder: WasmDecoder, encoded: Uint8Array, h: ImageHeader): Samples {
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== h.columns || info.height !== h.rows)
      throw new SidecarError(
        "INVALID_DICOM",
        `codestream is ${info.width}×${info.height}, header says ${h.columns}×${h.rows}`,
      );
    const decoded = decoder.getDecodedBuffer();
    const copy = new Uint8Array(decoded); // the view dies with the decoder
    const raw = info.bitsPerSample > 8 ? new Uint16Array(copy.buffer, 0, copy.length / 2) : copy;
    return toStored(raw, h);
  } catch (e) {
    if (e instanceof SidecarError) throw e;
    throw new SidecarError(
      "INVALID_DICOM",
      `compressed pixel data could not be decoded (${h.transferSyntax})`,
    );
  } finally {
    decoder.delete();
  }
}

async function compressedFrame(ds: dicomParserNs.DataSet, h: ImageHeader, index: number): Promise<Samples> {
  const encoded = frameFragments(ds, h, index);
  const ts = h.transferSyntax;
  if (ts === TS.rle) {
    try {
      return toStored(decodeRleFrame(encoded, h.rows, h.columns, h.samplesPerPixel, h.bitsAllocated), h);
    } catch (e) {
      throw new SidecarError("INVALID_DICOM", `RLE pixel data could not be decoded: ${(e as Error).message}`);
    }
  }
  if (ts === TS.jpegLossless || ts === TS.jpegLosslessSV1) {
    try {
      const copy = new Uint8Array(encoded);
      const out = new LosslessDecoder().decode(copy.buffer, 0, copy.length, h.bitsAllocated > 8 ? 2 : 1);
      const raw =
        out instanceof Uint8Array || out instanceof Uint16Array
          ? out
          : new Uint16Array(out.buffer, out.byteOffset, out.length);
      return toStored(raw, h);
    } catch {
      throw new SidecarError("INVALID_DICOM", "JPEG lossless pixel data could not be decoded");
    }
  }
  const c = await loadCodecs();
  if (ts === TS.jpegBaseline || ts === TS.jpegExtended) {
    if (h.bitsAllocated > 8)
      throw new SidecarError("UNSUPPORTED_TRANSFER_SYNTAX", "12-bit JPEG extended is not supported");
    return wasmDecode(new c.jpeg.JPEGDecoder(), encoded, h);
  }
  if (ts === TS.jpegLsLossless || ts === TS.jpegLsNear)
    return wasmDecode(new c.charls.JpegLSDecoder(), encoded, h);
  if (J2K.has(ts)) return wasmDecode(new c.openjpeg.J2KDecoder(), encoded, h);
  throw new SidecarError("UNSUPPORTED_TRANSFER_SYNTAX", `transfer syntax ${ts} is not supported`);
}

/** An instance whose header has been read and checked against the limits; its frames not decoded yet. */
export interface OpenedImage {
  ds: dicomParserNs.DataSet;
  header: ImageHeader;
}

/** Parses an instance and reads its header; refuses one whose declared pixel data exceeds the limits. */
export async function openImage(
  bytes: Uint8Array,
  limits: DecodeLimits = { maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES },
): Promise<OpenedImage> {
  const ds = await parseDicom(bytes, limits);
  const header = readHeader(ds);
  const native = NATIVE.has(header.transferSyntax);
  if (
    !native &&
    !SUPPORTED_TRANSFER_SYNTAXES.includes(
      header.transferSyntax as (typeof SUPPORTED_TRANSFER_SYNTAXES)[number],
    )
  ) {
    throw new SidecarError(
      "UNSUPPORTED_TRANSFER_SYNTAX",
      `transfer syntax ${header.transferSyntax} is not supported`,
    );
  }
  const declared = declaredDecodedBytes(header);
  if (declared > limits.maxDecodedBytes)
    throw new SidecarError(
      "INPUT_TOO_LARGE",
      `the image declares ${declared} bytes of decoded pixel data (${header.frames} frame(s) of ${header.rows}×${header.columns}); the limit is ${limits.maxDecodedBytes}`,
    );
  return { ds, header };
}

/** Decodes every frame of an opened instance. */
export async function decodeFrames({ ds, header }: OpenedImage): Promise<DecodedImage> {
  const frames: Samples[] = [];
  const native = NATIVE.has(header.transferSyntax);
  for (let f = 0; f < header.frames; f++)
    frames.push(native ? nativeFrame(ds, header, f) : await compressedFrame(ds, header, f));
  // JPEG codecs hand back RGB already; native and RLE YBR_FULL data is still YCbCr.
  if (
    header.samplesPerPixel === 3 &&
    header.photometric.startsWith("YBR_FULL") &&
    (native || header.transferSyntax === TS.rle)
  ) {
    for (const frame of frames) ybrFullToRgb(frame);
  }
  return { header, frames };
}

/** Decodes every frame of one instance. */
export async function decodeImage(bytes: Uint8Array, limits?: DecodeLimits): Promise<DecodedImage> {
  return decodeFrames(await openImage(bytes, limits));
}

/** In-place YCbCr (full range, PS3.3 C.7.6.3.1.2) → RGB for 8-bit interleaved samples. */
export function ybrFullToRgb(data: Samples): void {
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let i = 0; i + 2 < data.length; i += 3) {
    const y = data[i] as number;
    const cb = (data[i + 1] as number) - 128;
    const cr = (data[i + 2] as number) - 128;
    data[i] = clamp(y + 1.402 * cr);
    data[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp(y + 1.772 * cb);
  }
}

/** YBR_FULL_422 (Y1 Y2 Cb Cr per pixel pair) → interleaved YBR_FULL, for ybrFullToRgb. */
function upsample422(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0; p < pixels && i + 3 < src.length; p += 2, i += 4) {
    const cb = src[i + 2] as number;
    const cr = src[i + 3] as number;
    out.set([src[i] as number, cb, cr], p * 3);
    if (p + 1 < pixels) out.set([src[i + 1] as number, cb, cr], (p + 1) * 3);
  }
  return out;
}
