/**
 * Specific Character Set (0008,0005): decoding text values to Unicode and re-encoding edited ones.
 *
 * Identifiers are found and scrubbed in decoded text, never in raw bytes: in ISO 2022 IR 87/159 (Japanese kanji)
 * the two bytes of a character are in 0x21–0x7E, and in GB18030/GBK the second byte may be `\` or `^`, so a
 * byte-wise search would both miss names and cut characters in half. Supported:
 * - single-byte sets ISO_IR 6/100/101/109/110/126/127/138/144/148/166/203/13, also in their ISO 2022 forms
 *   with code extensions (ESC sequences designating G0/G1);
 * - ISO 2022 IR 87 (JIS X 0208), IR 159 (JIS X 0212), IR 13 (JIS X 0201), IR 149 (KS X 1001), IR 58 (GB 2312);
 * - ISO_IR 192 (UTF-8), GB18030, GBK.
 * DICOM's code-extension rules (PS3.5 §6.1.2.5.3): every value starts in the state named by the first term;
 * after a delimiter (`\` between values, `^` and `=` in PN) and at line ends the first term's sets are active
 * again. Re-encoding keeps each untouched character's original bytes and writes escape sequences only where
 * the state must change, returning to the initial state before every delimiter and at the end of the value.
 *
 * Anything we cannot decode with certainty (an unknown term or escape, a multi-byte character cut short or
 * not in its table) raises UNSUPPORTED_CHARACTER_SET: the file is quarantined, never half-understood.
 */
import { TextDecoder } from "node:util";
import type { Element } from "./dicom/element.ts";
import { TAG } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import { rawString, str } from "./values.ts";

/** A designation for G0 (bytes 0x21–0x7E) or G1 (bytes 0xA1–0xFE). */
type G0 = "ascii" | "romaji" | "jisx0208" | "jisx0212";
type G1 = "none" | "katakana" | "ksx1001" | "gb2312" | `sb${number}`;

export interface Charset {
  kind: "iso2022" | "single" | "utf8" | "gb18030" | "gbk";
  g0: G0;
  g1: G1;
}

/** One character of a decoded value with the bytes it was written in and the state it was read in. */
export interface Glyph {
  text: string;
  bytes: Uint8Array;
  /** Read from G1 (high bytes) rather than G0. */
  high: boolean;
  g0: G0;
  g1: G1;
  /** A delimiter after which the initial state is active again. */
  delimiter: boolean;
}

/** VRs whose values are written in the Specific Character Set (PS3.5 6.1.2.3); others are default repertoire. */
export const CHARSET_VRS = new Set(["SH", "LO", "ST", "LT", "PN", "UC", "UT"]);
const MULTI_VALUED = new Set(["SH", "LO", "PN", "UC"]);

/** Single-byte sets: ISO-IR number → WHATWG label (identical to the ISO 8859 part in 0xA0–0xFF) and ESC - F. */
const SINGLE: Record<string, { label: string; final: number }> = {
  "100": { label: "iso-8859-1", final: 0x41 },
  "101": { label: "iso-8859-2", final: 0x42 },
  "109": { label: "iso-8859-3", final: 0x43 },
  "110": { label: "iso-8859-4", final: 0x44 },
  "144": { label: "iso-8859-5", final: 0x4c },
  "127": { label: "iso-8859-6", final: 0x47 },
  "126": { label: "iso-8859-7", final: 0x46 },
  "138": { label: "iso-8859-8", final: 0x48 },
  "148": { label: "windows-1254", final: 0x4d },
  "203": { label: "iso-8859-15", final: 0x62 },
  "166": { label: "windows-874", final: 0x54 },
};
const FINAL_TO_SINGLE = new Map(Object.entries(SINGLE).map(([ir, s]) => [s.final, ir]));

export const DEFAULT_CHARSET: Charset = { kind: "single", g0: "ascii", g1: "none" };

function g1Of(ir: string): G1 | undefined {
  if (ir === "13") return "katakana";
  if (ir === "149") return "ksx1001";
  if (ir === "58") return "gb2312";
  return SINGLE[ir] ? `sb${Number(ir)}` : undefined;
}

function unsupported(term: string): DeidError {
  // Echo the term only when it has the shape of a defined term: a corrupt element could hold anything.
  const shown = /^(ISO_IR \d+|ISO 2022 IR \d+|GB18030|GBK)$/.test(term)
    ? `"${term}"`
    : "an unrecognised term";
  return new DeidError("UNSUPPORTED_CHARACTER_SET", `character set ${shown} is not supported`);
}

/** Parses the value of (0008,0005). Throws UNSUPPORTED_CHARACTER_SET for anything we cannot decode. */
export function parseCharset(value: string): Charset {
  const terms = value.split("\\").map((t) => t.trim());
  const first = terms[0] ?? "";
  if (terms.length === 1 || terms.every((t) => t === first)) {
    if (first === "" || first === "ISO_IR 6") return DEFAULT_CHARSET;
    if (first === "ISO_IR 192") return { kind: "utf8", g0: "ascii", g1: "none" };
    if (first === "GB18030") return { kind: "gb18030", g0: "ascii", g1: "none" };
    if (first === "GBK") return { kind: "gbk", g0: "ascii", g1: "none" };
    if (first === "ISO_IR 13") return { kind: "single", g0: "romaji", g1: "katakana" };
    const m = /^ISO_IR (\d+)$/.exec(first);
    if (m?.[1] && SINGLE[m[1]]) return { kind: "single", g0: "ascii", g1: `sb${Number(m[1])}` };
  }
  // Code extensions: every term must be an ISO 2022 set (the first may be empty, meaning ISO 2022 IR 6).
  let cs: Charset | undefined;
  for (const [i, t] of terms.entries()) {
    const m = /^ISO 2022 IR (\d+)$/.exec(t);
    if (!(m?.[1] || (i === 0 && t === ""))) throw unsupported(t);
    const ir = m?.[1] ?? "6";
    if (!["6", "87", "159", "13", "149", "58"].includes(ir) && !SINGLE[ir]) throw unsupported(t);
    if (i === 0) {
      if (ir === "87" || ir === "159") throw unsupported(t); // a multi-byte G0 set cannot be the initial one
      cs = { kind: "iso2022", g0: ir === "13" ? "romaji" : "ascii", g1: g1Of(ir) ?? "none" };
    }
  }
  return cs ?? DEFAULT_CHARSET;
}

/** The character set of a data set (its own (0008,0005), else the one inherited from the enclosing data set). */
export function charsetOf(ds: readonly Element[], inherited: Charset): Charset {
  for (const e of ds) {
    if (e.tag === TAG.SpecificCharacterSet) return parseCharset(str(e));
    if (e.tag > TAG.SpecificCharacterSet) break;
  }
  return inherited;
}

/** Throws UNSUPPORTED_CHARACTER_SET if any (0008,0005), at any depth, names a set we do not handle. */
export function checkCharacterSets(ds: readonly Element[]): void {
  for (const e of ds) {
    if (e.tag === TAG.SpecificCharacterSet) parseCharset(str(e));
    if (e.items) for (const item of e.items) checkCharacterSets(item);
  }
}

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) {
    d = new TextDecoder(label, { fatal: true });
    decoders.set(label, d);
  }
  return d;
}

/** Decodes `bytes` with `label`, expecting exactly `count` characters; anything else is not text we trust. */
function decodeRun(label: string, bytes: number[], count: number): string[] {
  let chars: string[];
  try {
    chars = [...decoder(label).decode(new Uint8Array(bytes))];
  } catch {
    throw new DeidError("UNSUPPORTED_CHARACTER_SET", "a multi-byte character is not in its character table");
  }
  if (chars.length !== count)
    throw new DeidError(
      "UNSUPPORTED_CHARACTER_SET",
      "multi-byte text does not decode character by character",
    );
  return chars;
}

const singleTables = new Map<string, string[]>();
function singleByte(g1: G1, b: number): string {
  if (g1 === "katakana") {
    if (b >= 0xa1 && b <= 0xdf) return String.fromCharCode(0xff61 + b - 0xa1);
    return String.fromCharCode(b);
  }
  const ir = g1.startsWith("sb") ? g1.slice(2) : "";
  const set = SINGLE[ir];
  if (!set) return String.fromCharCode(b); // no G1 designated: bytes read as Latin-1, as before
  let table = singleTables.get(ir);
  if (!table) {
    const d = new TextDecoder(set.label);
    table = Array.from({ length: 128 }, (_, i) => d.decode(new Uint8Array([0x80 + i])));
    singleTables.set(ir, table);
  }
  return table[b - 0x80] ?? "\ufffd";
}

function isDelimiter(b: number, vr: string): boolean {
  if (b === 0x0a || b === 0x0d || b === 0x0c || b === 0x09) return true;
  if (b === 0x5c && MULTI_VALUED.has(vr)) return true;
  return vr === "PN" && (b === 0x5e || b === 0x3d);
}

/** Decodes one text value into glyphs. Non-text VRs are read as Latin-1 (the default repertoire plus strays). */
export function decodeGlyphs(value: Uint8Array, cs: Charset, vr: string): Glyph[] {
  const out: Glyph[] = [];
  if (!CHARSET_VRS.has(vr)) {
    for (const b of value)
      out.push({
        text: String.fromCharCode(b),
        bytes: value.subarray(out.length, out.length + 1),
        high: b >= 0x80,
        g0: "ascii",
        g1: "none",
        delimiter: false,
      });
    return out;
  }
  if (cs.kind === "utf8" || cs.kind === "gb18030" || cs.kind === "gbk") return decodeVariable(value, cs, vr);
  let g0 = cs.g0;
  let g1 = cs.g1;
  let i = 0;
  while (i < value.length) {
    const b = value[i] as number;
    if (b === 0x1b && cs.kind === "iso2022") {
      const esc = readEscape(value, i);
      if (esc.g0) g0 = esc.g0;
      if (esc.g1) g1 = esc.g1;
      i += esc.length;
      continue;
    }
    if (b >= 0x80) {
      i = decodeHigh(value, i, g0, g1, out);
      continue;
    }
    if ((g0 === "jisx0208" || g0 === "jisx0212") && b >= 0x21 && b <= 0x7e) {
      i = decodeJis(value, i, g0, g1, out);
      continue;
    }
    const delimiter = (g0 === "ascii" || g0 === "romaji") && isDelimiter(b, vr);
    // JIS X 0201 Romaji differs from ASCII only at 0x5C/0x7E; read as ASCII, as pydicom and most toolkits do.
    out.push({
      text: String.fromCharCode(b),
      bytes: value.subarray(i, i + 1),
      high: false,
      g0,
      g1,
      delimiter,
    });
    i++;
    if (delimiter) {
      g0 = cs.g0;
      g1 = cs.g1;
    }
  }
  return out;
}

function readEscape(value: Uint8Array, i: number): { g0?: G0; g1?: G1; length: number } {
  const s = rawString(value.subarray(i + 1, i + 4));
  if (s.startsWith("(B")) return { g0: "ascii", length: 3 };
  if (s.startsWith("(J")) return { g0: "romaji", length: 3 };
  if (s.startsWith("$B") || s.startsWith("$@")) return { g0: "jisx0208", length: 3 };
  if (s.startsWith("$(D")) return { g0: "jisx0212", length: 4 };
  if (s.startsWith(")I")) return { g1: "katakana", length: 3 };
  if (s.startsWith("$)C")) return { g1: "ksx1001", length: 4 };
  if (s.startsWith("$)A")) return { g1: "gb2312", length: 4 };
  if (s.startsWith("-")) {
    const ir = FINAL_TO_SINGLE.get(s.charCodeAt(1));
    if (ir) return { g1: `sb${Number(ir)}`, length: 3 };
  }
  throw new DeidError("UNSUPPORTED_CHARACTER_SET", "unknown ISO 2022 escape sequence in a text value");
}

/** One glyph per two-byte character of a decoded run: `spans` are the offsets of their first bytes. */
function pushPairs(
  out: Glyph[],
  value: Uint8Array,
  spans: readonly number[],
  chars: readonly string[],
  high: boolean,
  g0: G0,
  g1: G1,
): void {
  spans.forEach((at, k) => {
    out.push({ text: chars[k] as string, bytes: value.subarray(at, at + 2), high, g0, g1, delimiter: false });
  });
}

/** A run of two-byte JIS X 0208/0212 characters in G0, decoded through EUC-JP. */
function decodeJis(value: Uint8Array, start: number, g0: G0, g1: G1, out: Glyph[]): number {
  let i = start;
  const euc: number[] = [];
  const spans: number[] = [];
  while (i < value.length && (value[i] as number) >= 0x21 && (value[i] as number) <= 0x7e) {
    const b2 = value[i + 1];
    if (b2 === undefined || b2 < 0x21 || b2 > 0x7e)
      throw new DeidError("UNSUPPORTED_CHARACTER_SET", "a two-byte JIS character is cut short");
    if (g0 === "jisx0212") euc.push(0x8f);
    euc.push((value[i] as number) | 0x80, b2 | 0x80);
    spans.push(i);
    i += 2;
  }
  const chars = decodeRun("euc-jp", euc, spans.length);
  pushPairs(out, value, spans, chars, false, g0, g1);
  return i;
}

/** Bytes ≥ 0x80 in an ISO 2022 or single-byte set: G1. */
function decodeHigh(value: Uint8Array, start: number, g0: G0, g1: G1, out: Glyph[]): number {
  if (g1 !== "ksx1001" && g1 !== "gb2312") {
    const b = value[start] as number;
    out.push({
      text: singleByte(g1, b),
      bytes: value.subarray(start, start + 1),
      high: true,
      g0,
      g1,
      delimiter: false,
    });
    return start + 1;
  }
  let i = start;
  const bytes: number[] = [];
  const spans: number[] = [];
  while (i < value.length && (value[i] as number) >= 0xa1 && (value[i] as number) <= 0xfe) {
    const b2 = value[i + 1];
    if (b2 === undefined || b2 < 0xa1 || b2 > 0xfe)
      throw new DeidError("UNSUPPORTED_CHARACTER_SET", "a two-byte character is cut short");
    bytes.push(value[i] as number, b2);
    spans.push(i);
    i += 2;
  }
  if (spans.length === 0)
    throw new DeidError("UNSUPPORTED_CHARACTER_SET", "a byte outside the designated set");
  const chars = decodeRun(g1 === "ksx1001" ? "euc-kr" : "gb18030", bytes, spans.length);
  pushPairs(out, value, spans, chars, true, g0, g1);
  return i;
}

/** UTF-8, GB18030 and GBK: no code extensions; a character's length follows from its first byte(s). */
function decodeVariable(value: Uint8Array, cs: Charset, vr: string): Glyph[] {
  const out: Glyph[] = [];
  const label = cs.kind === "utf8" ? "utf-8" : cs.kind;
  let i = 0;
  while (i < value.length) {
    const b = value[i] as number;
    let n = 1;
    if (b >= 0x80) {
      if (cs.kind === "utf8") n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      else if (b >= 0x81 && b <= 0xfe) {
        const b2 = value[i + 1] ?? 0;
        n = cs.kind === "gb18030" && b2 >= 0x30 && b2 <= 0x39 ? 4 : 2;
      }
    }
    const bytes = value.subarray(i, i + n);
    let text: string;
    if (n === 1 && b < 0x80) text = String.fromCharCode(b);
    else {
      try {
        text = decoder(label).decode(bytes);
      } catch {
        if (cs.kind !== "utf8")
          throw new DeidError(
            "UNSUPPORTED_CHARACTER_SET",
            `a ${cs.kind.toUpperCase()} character does not decode`,
          );
        // Invalid UTF-8 cannot hide ASCII (continuation bytes are ≥ 0x80): keep the byte as it was.
        text = "\ufffd";
        n = 1;
      }
    }
    out.push({
      text,
      bytes: value.subarray(i, i + n),
      high: b >= 0x80,
      g0: "ascii",
      g1: "none",
      delimiter: n === 1 && isDelimiter(b, vr),
    });
    i += n;
  }
  return out;
}

/** The decoded value as a string (DICOM padding kept; callers trim). */
export function decodeText(value: Uint8Array, cs: Charset, vr: string): string {
  if (!CHARSET_VRS.has(vr) || value.every((b) => b < 0x80 && b !== 0x1b)) return rawString(value);
  return decodeGlyphs(value, cs, vr)
    .map((g) => g.text)
    .join("");
}

/** The trimmed text of an element in its character set (what `str` is for raw bytes). */
export function textOf(e: Element, cs: Charset, vr: string): string {
  return decodeText(e.value, cs, vr)
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
}

const ESC_G0: Record<G0, number[]> = {
  ascii: [0x1b, 0x28, 0x42],
  romaji: [0x1b, 0x28, 0x4a],
  jisx0208: [0x1b, 0x24, 0x42],
  jisx0212: [0x1b, 0x24, 0x28, 0x44],
};

function escG1(g1: G1): number[] {
  if (g1 === "katakana") return [0x1b, 0x29, 0x49];
  if (g1 === "ksx1001") return [0x1b, 0x24, 0x29, 0x43];
  if (g1 === "gb2312") return [0x1b, 0x24, 0x29, 0x41];
  const set = SINGLE[g1.slice(2)];
  if (!set) throw new DeidError("UNSUPPORTED_CHARACTER_SET", "cannot re-designate G1");
  return [0x1b, 0x2d, set.final];
}

/** A replacement character (ASCII, valid in every supported set's initial G0). */
export function asciiGlyph(ch: string, cs: Charset): Glyph {
  return {
    text: ch,
    bytes: new Uint8Array([ch.charCodeAt(0)]),
    high: false,
    g0: cs.g0,
    g1: cs.g1,
    delimiter: false,
  };
}

/** Writes glyphs back, emitting escape sequences only where the state changes (ISO 2022 only). */
export function encodeGlyphs(glyphs: readonly Glyph[], cs: Charset): Uint8Array {
  const out: number[] = [];
  let g0 = cs.g0;
  let g1 = cs.g1;
  const restore = () => {
    if (cs.kind !== "iso2022") return;
    if (g0 !== cs.g0) out.push(...ESC_G0[cs.g0]);
    if (g1 !== cs.g1 && cs.g1 !== "none") out.push(...escG1(cs.g1));
    g0 = cs.g0;
    g1 = cs.g1;
  };
  for (const g of glyphs) {
    if (cs.kind === "iso2022") {
      if (g.delimiter) restore();
      else if (g.high && g.g1 !== g1) {
        out.push(...escG1(g.g1));
        g1 = g.g1;
      } else if (!g.high && g.g0 !== g0) {
        out.push(...ESC_G0[g.g0]);
        g0 = g.g0;
      }
    }
    out.push(...g.bytes);
    if (g.delimiter) {
      g0 = cs.g0;
      g1 = cs.g1;
    }
  }
  restore();
  return new Uint8Array(out);
}
