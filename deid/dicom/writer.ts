/**
 * Writes an element tree back out in the input's transfer syntax. Sequences and items are always written with
 * undefined length and delimiters (valid in every transfer syntax, and no lengths to recompute bottom-up);
 * encapsulated fragments are copied byte-exact; the file meta group gets a freshly computed group length.
 */
import { deflateRawSync } from "node:zlib";
import { type Element, TAG, type TransferSyntax } from "./element.ts";
import { DeidError } from "./errors.ts";
import { LONG_VRS, tagString } from "./vr.ts";

const UNDEFINED = 0xffffffff;

class Out {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  constructor(
    capacity: number,
    readonly le: boolean,
    readonly explicit: boolean,
  ) {
    this.buf = new Uint8Array(Math.max(capacity, 1024));
    this.dv = new DataView(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u16(v: number): void {
    this.ensure(2);
    this.dv.setUint16(this.pos, v, this.le);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v, this.le);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  tag(tag: number): void {
    this.u16(tag >>> 16);
    this.u16(tag & 0xffff);
  }
  header(tag: number, vr: string, len: number): void {
    this.tag(tag);
    if (!this.explicit) {
      this.u32(len);
      return;
    }
    let v = vr;
    if (!LONG_VRS.has(v) && len > 0xffff) {
      // A short-length VR cannot carry this value; UN can (little endian only, where UN keeps the bytes as-is).
      if (!this.le) throw new DeidError("OUTPUT_SANITY", `value of ${tagString(tag)} too long for its VR`);
      v = "UN";
    }
    this.ensure(2);
    this.buf[this.pos] = v.charCodeAt(0);
    this.buf[this.pos + 1] = v.charCodeAt(1);
    this.pos += 2;
    if (LONG_VRS.has(v)) {
      this.u16(0);
      this.u32(len);
    } else {
      this.u16(len);
    }
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function writeElements(out: Out, elements: readonly Element[]): void {
  for (const e of elements) {
    if (e.items) {
      out.header(e.tag, "SQ", UNDEFINED);
      for (const item of e.items) {
        out.tag(TAG.Item);
        out.u32(UNDEFINED);
        writeElements(out, item);
        out.tag(TAG.ItemDelimitation);
        out.u32(0);
      }
      out.tag(TAG.SequenceDelimitation);
      out.u32(0);
    } else if (e.fragments) {
      out.header(e.tag, e.vr, UNDEFINED);
      for (const f of e.fragments) {
        out.tag(TAG.Item);
        out.u32(f.length);
        out.bytes(f);
      }
      out.tag(TAG.SequenceDelimitation);
      out.u32(0);
    } else {
      out.header(e.tag, e.vr, e.value.length);
      out.bytes(e.value);
    }
  }
}

/** Serialises a data set (no meta) in the given encoding. */
export function writeDataset(
  elements: readonly Element[],
  explicit: boolean,
  le: boolean,
  sizeHint = 1 << 16,
): Uint8Array {
  const out = new Out(sizeHint, le, explicit);
  writeElements(out, elements);
  return out.result();
}

/** Writes a Part 10 file: 128-byte preamble, "DICM", meta (explicit VR LE, with group length), data set. */
export function writePart10(
  meta: readonly Element[],
  dataset: readonly Element[],
  ts: TransferSyntax,
  sizeHint: number,
): Uint8Array {
  return wrapPart10(meta, writeDataset(dataset, ts.explicit, ts.littleEndian, sizeHint), ts);
}

/** Frames an already serialised data set (`body`, not yet deflated) as a Part 10 file. */
export function wrapPart10(meta: readonly Element[], body: Uint8Array, ts: TransferSyntax): Uint8Array {
  const metaBody = new Out(512, true, true);
  writeElements(
    metaBody,
    meta.filter((e) => e.tag !== TAG.FileMetaGroupLength),
  );
  const metaBytes = metaBody.result();
  const payload = ts.deflated ? deflateRawSync(body) : body;
  const out = new Out(132 + 12 + metaBytes.length + payload.length, true, true);
  out.pos = 128;
  out.bytes(new Uint8Array([0x44, 0x49, 0x43, 0x4d]));
  out.header(TAG.FileMetaGroupLength, "UL", 4);
  out.u32(metaBytes.length);
  out.bytes(metaBytes);
  out.bytes(payload);
  return out.result();
}
