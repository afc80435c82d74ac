/**
 * The fast lane for JSON infer requests. Almost all of a JSON request's bytes are the flat numeric `data`
 * arrays (150 k floats of a 224×224 RGB image = 3 MB when a client prints float32 values with 17 digits, as
 * numpy's `tolist()` + `json.dumps` does), and `JSON.parse` spends ~30 ms turning them into boxed numbers that
 * are then copied into a Float32Array. Here the request is scanned once as bytes: each flat numeric array that
 * is the value of a `"data"` key is cut out of the text (a placeholder takes its place, so JSON.parse only sees
 * the small skeleton), and FP32 arrays are parsed straight into a Float32Array.
 *
 * Exactness: a number is read as (up to 17 significant digits) × 10^e with one rounding, then rounded to
 * float32. That is the correctly rounded float32 unless the double lies within 1e-13 (relative) of a float32
 * rounding boundary — checked per element, and such an element (about one in 10⁶) is re-read with `Number`,
 * which is exact. Anything unusual (bad grammar, exponents beyond ±22, nesting) returns undefined and the
 * caller takes the ordinary `JSON.parse` path, which also produces the usual error for invalid JSON.
 */
import { ownedPool } from "./owned-buffers.ts";

/** Prefix of the placeholder string that stands in the skeleton for the k-th cut-out array. */
export const PLACEHOLDER = "\u0000medmlops-data:";

export interface Skeleton {
  /** The JSON text with every cut-out array replaced by `"<PLACEHOLDER>k"`. */
  text: string;
  /** Byte ranges [start, end) of the cut-out arrays, `[` to `]` inclusive, in order. */
  spans: [number, number][];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const DATA_KEY = [0x64, 0x61, 0x74, 0x61]; // d a t a

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i] as number)) i++;
  return i;
}

/**
 * If a flat array of numbers starts at b[open] (`[`), the index of its `]`; otherwise -1. Only the shape is
 * checked here (native searches, no byte loop): the elements are checked when parsed.
 */
function flatNumericArrayEnd(b: Buffer, open: number, end: number): number {
  const first = skipSpace(b, open + 1, end);
  if (first >= end || !(isDigit(b[first] as number) || b[first] === MINUS)) return -1;
  const close = b.indexOf(CLOSE, first);
  if (close < 0 || close >= end) return -1;
  const inner = b.subarray(first, close);
  // Nested arrays, objects or strings inside: not a flat numeric array.
  if (inner.includes(OPEN) || inner.includes(0x7b) || inner.includes(QUOTE)) return -1;
  return close;
}

/** Cuts the flat numeric `data` arrays out of the JSON in b[start, end). */
export function cutDataArrays(b: Buffer, start: number, end: number): Skeleton {
  const spans: [number, number][] = [];
  const parts: string[] = [];
  let copied = start;
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c !== QUOTE) {
      i++;
      continue;
    }
    // A string: find its end (escapes skip the next byte; UTF-8 continuation bytes never equal " or \).
    const s = i + 1;
    let j = s;
    while (j < end && b[j] !== QUOTE) j += b[j] === BACKSLASH ? 2 : 1;
    i = j + 1;
    if (j - s !== DATA_KEY.length || DATA_KEY.some((c, n) => b[s + n] !== c)) continue;
    let k = skipSpace(b, i, end);
    if (b[k] !== COLON) continue; // "data" as a value, not a key
    k = skipSpace(b, k + 1, end);
    if (b[k] !== OPEN) continue;
    const close = flatNumericArrayEnd(b, k, end);
    if (close < 0) continue;
    parts.push(b.toString("utf8", copied, k), JSON.stringify(`${PLACEHOLDER}${spans.length}`));
    spans.push([k, close + 1]);
    copied = close + 1;
    i = close + 1;
  }
  if (spans.length === 0) return { text: b.toString("utf8", start, end), spans };
  parts.push(b.toString("utf8", copied, end));
  return { text: parts.join(""), spans };
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1");
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const GUARD = 1e-13;

/**
 * Parses a flat JSON array of numbers b[start, end) (`[` … `]`) that should hold `expected` elements into a
 * Float32Array equal to `Float32Array.from(JSON.parse(text))`. Returns the element count instead when it is
 * not `expected`, and undefined when the text is not exactly such an array.
 */
export function parseFloat32Array(
  b: Uint8Array,
  start: number,
  end: number,
  expected: number,
): Float32Array | number | undefined {
  if (b[start] !== OPEN || b[end - 1] !== CLOSE) return undefined;
  // Owned memory: the tensor then moves to the inference worker without a copy and comes back for reuse.
  const out = new Float32Array(ownedPool.take(expected * 4), 0, expected);
  const result = readNumbers(b, start, end, out);
  if (result !== out) ownedPool.give(out.buffer as ArrayBuffer);
  return result;
}

function readNumbers(
  b: Uint8Array,
  start: number,
  end: number,
  out: Float32Array,
): Float32Array | number | undefined {
  const expected = out.length;
  let n = 0;
  let i = skipSpace(b, start + 1, end - 1);
  const last = end - 1;
  if (i === last) return expected === 0 ? out : 0;
  for (;;) {
    const numStart = i;
    let neg = false;
    if (b[i] === MINUS) {
      neg = true;
      i++;
    }
    let m = 0;
    let digits = 0; // significant digits kept in m
    let exp = 0;
    let c = b[i] as number;
    if (c === ZERO) {
      c = b[++i] as number;
    } else if (isDigit(c)) {
      while (isDigit(c)) {
        if (digits < 17) {
          m = m * 10 + (c - ZERO);
          digits++;
        } else exp++;
        c = b[++i] as number;
      }
    } else return undefined;
    if (c === DOT) {
      c = b[++i] as number;
      if (!isDigit(c)) return undefined;
      while (isDigit(c)) {
        if (m === 0 && c === ZERO)
          exp--; // a leading zero: not significant, only shifts the point
        else if (digits < 17) {
          m = m * 10 + (c - ZERO);
          digits++;
          exp--;
        }
        c = b[++i] as number;
      }
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++i] as number;
      let eneg = false;
      if (c === MINUS || c === PLUS) {
        eneg = c === MINUS;
        c = b[++i] as number;
      }
      if (!isDigit(c)) return undefined;
      let e = 0;
      while (isDigit(c)) {
        e = e < 1e6 ? e * 10 + (c - ZERO) : e;
        c = b[++i] as number;
      }
      exp += eneg ? -e : e;
    }
    let v: number;
    if (m === 0) v = 0;
    else if (exp >= -22 && exp <= 22) v = exp < 0 ? m / (POW10[-exp] as number) : m * (POW10[exp] as number);
    else v = Number.NaN; // beyond one exact power of ten: read exactly below
    let f = Math.fround(v);
    // Exact unless v sits within GUARD of a float32 rounding boundary (or was not computed): then re-read.
    if (Number.isNaN(v) || Math.fround(v * (1 - GUARD)) !== f || Math.fround(v * (1 + GUARD)) !== f) {
      f = Math.abs(Math.fround(Number(latin1(b, numStart, i))));
    }
    if (neg) f = -f;
    if (n < expected) out[n] = f;
    n++;
    i = skipSpace(b, i, last);
    if (i === last) break;
    if (b[i] !== COMMA) return undefined;
    i = skipSpace(b, i + 1, last);
    if (i === last) return undefined; // trailing comma
  }
  return n === expected ? out : n;
}
