/**
 * Hand-built DICOM Part 10 files for hostile-input tests, byte by byte (explicit VR little endian, or deflated):
 * geometry, frame count and element lengths can be declared independently of the data that follows, which
 * a conforming writer would refuse to do.
 */
import { createDeflateRaw } from "node:zlib";
import { TS } from "../dicom/pixels.ts";

const LONG_VRS = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

/** One explicit VR little endian element; `length` overrides the declared value length. */
function element(group: number, elem: number, vr: string, value: Uint8Array, length = value.length): Buffer {
  const long = LONG_VRS.has(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, "latin1");
  if (long) head.writeUInt32LE(length, 8);
  else head.writeUInt16LE(length, 6);
  return Buffer.concat([head, value]);
}

const text = (s: string) => {
  const b = Buffer.from(s, "latin1");
  return b.length % 2 === 0
    ? b
    : Buffer.concat([b, Buffer.from(s.startsWith("1") || s.startsWith("2") ? [0] : [0x20])]);
};
const us = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

function meta(transferSyntax: string): Buffer {
  const body = Buffer.concat([
    element(0x0002, 0x0001, "OB", new Uint8Array([0, 1])),
    element(0x0002, 0x0002, "UI", text("1.2.840.10008.5.1.4.1.1.2")),
    element(0x0002, 0x0003, "UI", text("2.25.424242")),
    element(0x0002, 0x0010, "UI", text(transferSyntax)),
    element(0x0002, 0x0012, "UI", text("2.25.42")),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), element(0x0002, 0x0000, "UL", length), body]);
}

export interface HostileImage {
  rows: number;
  columns: number;
  frames?: number;
  rescaleSlope?: string;
  /** Declared length of Pixel Data (default rows × columns × frames × 2). */
  pixelLength?: number;
}

/** The dataset (after the file meta group) of a 16-bit signed grayscale CT image, with `pixels` as Pixel Data. */
export function datasetHead(img: HostileImage): Buffer {
  const frames = img.frames ?? 1;
  const pixelLength = img.pixelLength ?? img.rows * img.columns * frames * 2;
  return Buffer.concat([
    element(0x0008, 0x0016, "UI", text("1.2.840.10008.5.1.4.1.1.2")),
    element(0x0008, 0x0018, "UI", text("2.25.424242")),
    element(0x0008, 0x0060, "CS", text("CT")),
    element(0x0020, 0x000d, "UI", text("2.25.99887766554433221100")),
    element(0x0028, 0x0002, "US", us(1)),
    element(0x0028, 0x0004, "CS", text("MONOCHROME2")),
    ...(frames > 1 ? [element(0x0028, 0x0008, "IS", text(String(frames)))] : []),
    element(0x0028, 0x0010, "US", us(img.rows)),
    element(0x0028, 0x0011, "US", us(img.columns)),
    element(0x0028, 0x0100, "US", us(16)),
    element(0x0028, 0x0101, "US", us(16)),
    element(0x0028, 0x0102, "US", us(15)),
    element(0x0028, 0x0103, "US", us(1)),
    element(0x0028, 0x1052, "DS", text("-1024")),
    element(0x0028, 0x1053, "DS", text(img.rescaleSlope ?? "1")),
    // Pixel Data's header only; its value follows.
    element(0x7fe0, 0x0010, "OW", new Uint8Array(0), pixelLength),
  ]);
}

/** An explicit VR little endian file whose Pixel Data is `pixels` (stored values). */
export function explicitDicom(img: HostileImage, pixels?: Int16Array): Buffer {
  const frames = img.frames ?? 1;
  const data = pixels ?? new Int16Array(img.rows * img.columns * frames).fill(1024);
  return Buffer.concat([
    meta(TS.explicitLE),
    datasetHead(img),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/**
 * A deflated file whose dataset declares `img` but whose Pixel Data runs on for `inflatedBytes` zero bytes:
 * small on the wire, huge once inflated. Built by streaming, so the test process never holds the inflated bytes.
 */
export async function deflateBomb(img: HostileImage, inflatedBytes: number): Promise<Buffer> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on("data", (c: Buffer) => out.push(c));
  const done = new Promise<void>((r) => z.on("end", () => r()));
  const write = (b: Buffer) => new Promise<void>((r) => (z.write(b) ? r() : z.once("drain", () => r())));
  await write(datasetHead({ ...img, pixelLength: inflatedBytes }));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (let left = inflatedBytes; left > 0; left -= zeros.length)
    await write(left >= zeros.length ? zeros : zeros.subarray(0, left));
  z.end();
  await done;
  return Buffer.concat([meta(TS.deflatedLE), ...out]);
}
