/**
 * A streaming DICOM reader over one buffer: Part 10 (preamble, "DICM", group 2 meta in explicit VR little
 * endian) or a bare data set, then the data set in its transfer syntax — explicit/implicit VR little endian,
 * explicit VR big endian, deflated explicit VR little endian — with defined- and undefined-length sequences
 * and items, and encapsulated pixel data kept as fragment views (byte-exact). Values are views, not copies.
 *
 * Every malformation raises DeidError (MALFORMED / TRUNCATED / …) with offsets, never values.
 */
import { inflateRawSync } from "node:zlib";
import { type Element, TAG, type TransferSyntax, transferSyntax } from "./element.ts";
import { DeidError } from "./errors.ts";
import { ALL_VRS, LONG_VRS, dictionaryVr, tagString } from "./vr.ts";

/** Nesting deeper than this is not seen in real objects and would only serve a stack-exhaustion attack. */
const MAX_DEPTH = 48;
/** Upper bound for an inflated deflate data set (zip-bomb guard). */
const MAX_INFLATED = 1 << 30;
const UNDEFINED = 0xffffffff;

export interface ParsedFile {
  /** Group 2 elements; empty when the input had no file meta information. */
  meta: Element[];
  dataset: Element[];
  ts: TransferSyntax;
  /** How the input was framed (reported as a warning when not standard Part 10). */
  framing: "part10" | "meta-without-preamble" | "bare-dataset";
  /** Byte size of the (inflated) data set, for the output size sanity check. */
  datasetBytes: number;
}

class Reader {
  private readonly dv: DataView;
  private depth = 0;
  constructor(
    private readonly buf: Uint8Array,
    private le: boolean,
    private explicit: boolean,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private u16(p: number): number {
    return this.dv.getUint16(p, this.le);
  }
  private u32(p: number): number {
    return this.dv.getUint32(p, this.le);
  }
  private tagAt(p: number): number {
    return ((this.u16(p) << 16) | this.u16(p + 2)) >>> 0;
  }

  /** Parses elements from `pos` to `end`; with `untilItemEnd`, stops after an Item Delimitation Item. */
  elements(
    pos: number,
    end: number,
    untilItemEnd: boolean,
    onlyGroup2 = false,
  ): { elements: Element[]; pos: number } {
    if (++this.depth > MAX_DEPTH)
      throw new DeidError("MALFORMED", `sequences nested deeper than ${MAX_DEPTH}`);
    const out: Element[] = [];
    let previous = -1;
    while (pos < end) {
      if (pos + 8 > end) {
        if (!untilItemEnd && this.allZero(pos, end)) break; // trailing padding
        throw new DeidError("TRUNCATED", `element header cut off at offset ${pos}`);
      }
      const tag = this.tagAt(pos);
      if (onlyGroup2 && tag >>> 16 !== 0x0002) break;
      if (tag === TAG.ItemDelimitation) {
        if (!untilItemEnd) throw new DeidError("MALFORMED", `unexpected item delimiter at offset ${pos}`);
        this.depth--;
        return { elements: out, pos: pos + 8 };
      }
      if (tag >>> 16 === 0xfffe) throw new DeidError("MALFORMED", `unexpected item tag at offset ${pos}`);
      // PS3.5 7.1: ascending tag order. A tag out of order means a corrupt file (or a corrupt tag), and a
      // corrupt tag could disguise an identifying attribute as a harmless one.
      if (tag <= previous)
        throw new DeidError("MALFORMED", `${tagString(tag)} out of ascending order at offset ${pos}`);
      previous = tag;
      const r = this.element(tag, pos, end);
      out.push(r.element);
      pos = r.pos;
    }
    if (untilItemEnd) throw new DeidError("TRUNCATED", "item without delimiter");
    this.depth--;
    return { elements: out, pos };
  }

  private allZero(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.buf[i] !== 0) return false;
    return true;
  }

  private element(tag: number, pos: number, end: number): { element: Element; pos: number } {
    let vr: string;
    let len: number;
    let header: number;
    if (this.explicit) {
      vr = String.fromCharCode(this.buf[pos + 4] ?? 0, this.buf[pos + 5] ?? 0);
      if (!ALL_VRS.has(vr))
        throw new DeidError("MALFORMED", `invalid VR for ${tagString(tag)} at offset ${pos}`);
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > end) throw new DeidError("TRUNCATED", `element header cut off at offset ${pos}`);
        len = this.u32(pos + 8);
        header = 12;
      } else {
        len = this.u16(pos + 6);
        header = 8;
      }
    } else {
      len = this.u32(pos + 4);
      header = 8;
      vr = dictionaryVr(tag) ?? "UN";
      if (len === UNDEFINED) vr = "SQ"; // implicit VR: undefined length means a sequence (PS3.5 7.5.1)
    }
    const start = pos + header;
    if (len === UNDEFINED) {
      if (vr === "SQ") {
        const r = this.items(start, end, true);
        return { element: { tag, vr, value: EMPTY, items: r.items }, pos: r.pos };
      }
      if (vr === "UN") {
        // PS3.5 6.2.2: UN with undefined length holds a sequence encoded in implicit VR little endian.
        const r = this.implicitSequence(tag, start, end, true);
        return { element: { tag, vr: "SQ", value: EMPTY, items: r.items }, pos: r.pos };
      }
      if (vr === "OB" || vr === "OW") {
        const r = this.fragments(start, end);
        return { element: { tag, vr, value: EMPTY, fragments: r.fragments }, pos: r.pos };
      }
      throw new DeidError("MALFORMED", `undefined length on ${vr} element ${tagString(tag)}`);
    }
    const stop = start + len;
    if (stop > end) throw new DeidError("TRUNCATED", `value of ${tagString(tag)} runs past the end`);
    if (vr === "SQ") {
      const r = this.items(start, stop, false);
      return { element: { tag, vr, value: EMPTY, items: r.items }, pos: stop };
    }
    if (vr === "UN" && this.explicit && dictionaryVr(tag) === "SQ" && len > 0) {
      const r = this.implicitSequence(tag, start, stop, false);
      return { element: { tag, vr: "SQ", value: EMPTY, items: r.items }, pos: stop };
    }
    return { element: { tag, vr, value: this.buf.subarray(start, stop) }, pos: stop };
  }

  private implicitSequence(tag: number, start: number, end: number, undefinedLength: boolean) {
    if (!this.le) {
      throw new DeidError("MALFORMED", `UN-encoded sequence ${tagString(tag)} in a big endian data set`);
    }
    const saved = this.explicit;
    this.explicit = false;
    try {
      return this.items(start, end, undefinedLength);
    } finally {
      this.explicit = saved;
    }
  }

  private items(pos: number, end: number, undefinedLength: boolean): { items: Element[][]; pos: number } {
    const items: Element[][] = [];
    for (;;) {
      if (!undefinedLength && pos >= end) return { items, pos };
      if (pos + 8 > end) throw new DeidError("TRUNCATED", "sequence cut off");
      const tag = this.tagAt(pos);
      const len = this.u32(pos + 4);
      if (tag === TAG.SequenceDelimitation) {
        if (!undefinedLength)
          throw new DeidError("MALFORMED", `sequence delimiter in defined-length sequence at ${pos}`);
        return { items, pos: pos + 8 };
      }
      if (tag !== TAG.Item) throw new DeidError("MALFORMED", `expected an item at offset ${pos}`);
      if (len === UNDEFINED) {
        const r = this.elements(pos + 8, end, true);
        items.push(r.elements);
        pos = r.pos;
      } else {
        const stop = pos + 8 + len;
        if (stop > end) throw new DeidError("TRUNCATED", `item at offset ${pos} runs past its sequence`);
        items.push(this.elements(pos + 8, stop, false).elements);
        pos = stop;
      }
    }
  }

  private fragments(pos: number, end: number): { fragments: Uint8Array[]; pos: number } {
    const fragments: Uint8Array[] = [];
    for (;;) {
      if (pos + 8 > end) throw new DeidError("TRUNCATED", "encapsulated data cut off");
      const tag = this.tagAt(pos);
      const len = this.u32(pos + 4);
      if (tag === TAG.SequenceDelimitation) return { fragments, pos: pos + 8 };
      if (tag !== TAG.Item || len === UNDEFINED) {
        throw new DeidError("MALFORMED", `bad fragment at offset ${pos}`);
      }
      if (pos + 8 + len > end)
        throw new DeidError("TRUNCATED", `fragment at offset ${pos} runs past the end`);
      fragments.push(this.buf.subarray(pos + 8, pos + 8 + len));
      pos += 8 + len;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Parses a data set (no meta) in the given encoding. */
export function parseDataset(buf: Uint8Array, explicit: boolean, littleEndian: boolean): Element[] {
  return new Reader(buf, littleEndian, explicit).elements(0, buf.length, false).elements;
}

function isDicm(b: Uint8Array, at: number): boolean {
  return b[at] === 0x44 && b[at + 1] === 0x49 && b[at + 2] === 0x43 && b[at + 3] === 0x4d;
}

function vrAt(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at] ?? 0, b[at + 1] ?? 0);
}

/** Guesses the encoding of a data set that has no (usable) transfer syntax, the way toolkits do. */
function detect(buf: Uint8Array, pos: number, hasMeta = false): TransferSyntax {
  const prefix = hasMeta ? "file meta without a transfer syntax" : "no DICM prefix";
  if (buf.length - pos < 8)
    throw new DeidError("NOT_DICOM", hasMeta ? `${prefix} and no data set` : "too short to be DICOM");
  const gLE = (buf[pos] ?? 0) | ((buf[pos + 1] ?? 0) << 8);
  const gBE = ((buf[pos] ?? 0) << 8) | (buf[pos + 1] ?? 0);
  const explicitVr = ALL_VRS.has(vrAt(buf, pos + 4));
  const plausible = (g: number) => g >= 0x0002 && g <= 0x0010 && g % 2 === 0;
  if (explicitVr && plausible(gLE)) return transferSyntax("1.2.840.10008.1.2.1") as TransferSyntax;
  if (explicitVr && plausible(gBE)) return transferSyntax("1.2.840.10008.1.2.2") as TransferSyntax;
  if (plausible(gLE)) return transferSyntax("1.2.840.10008.1.2") as TransferSyntax;
  throw new DeidError("NOT_DICOM", `${prefix} and no recognisable data set`);
}

function stringValue(e: Element | undefined): string | undefined {
  if (!e) return undefined;
  return Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength)
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .trim();
}

/** Reads a whole input: file meta (if any), transfer syntax, data set (inflated if deflated). */
export function readFile(input: Uint8Array): ParsedFile {
  let pos: number;
  let framing: ParsedFile["framing"];
  if (input.length >= 132 && isDicm(input, 128)) {
    pos = 132;
    framing = "part10";
  } else if (input.length >= 8 && input[0] === 0x02 && input[1] === 0x00 && ALL_VRS.has(vrAt(input, 4))) {
    pos = 0;
    framing = "meta-without-preamble";
  } else {
    pos = -1;
    framing = "bare-dataset";
  }
  let meta: Element[] = [];
  let ts: TransferSyntax;
  if (pos >= 0) {
    const r = new Reader(input, true, true).elements(pos, input.length, false, true);
    meta = r.elements;
    pos = r.pos;
    const tsUid = stringValue(meta.find((e) => e.tag === TAG.TransferSyntaxUID));
    if (tsUid === undefined || tsUid === "") {
      ts = detect(input, pos, true);
    } else {
      const known = transferSyntax(tsUid);
      if (!known) {
        throw new DeidError(
          "UNSUPPORTED_TRANSFER_SYNTAX",
          `transfer syntax ${/^[0-9.]{1,64}$/.test(tsUid) ? tsUid : "(not a UID)"} is not supported`,
        );
      }
      ts = known;
    }
  } else {
    pos = 0;
    ts = detect(input, 0);
  }
  let body = input.subarray(pos);
  if (ts.deflated) {
    try {
      body = inflateRawSync(body, { maxOutputLength: MAX_INFLATED });
    } catch {
      throw new DeidError("MALFORMED", "deflated data set cannot be inflated");
    }
  }
  const dataset = new Reader(body, ts.littleEndian, ts.explicit).elements(0, body.length, false).elements;
  return { meta, dataset, ts, framing, datasetBytes: body.length };
}
