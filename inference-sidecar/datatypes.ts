/**
 * Open Inference Protocol datatypes and their onnxruntime-node counterparts: typed-array constructors,
 * element sizes and conversion of JSON values into typed data.
 */
import { z } from "zod";
import { DatatypeSchema } from "../crds/index.ts";

/** The API's datatype list (crds/) is the one the sidecar serves. */
export const OIP_DATATYPES = DatatypeSchema.options;
export const Datatype = z.enum(OIP_DATATYPES);
export type Datatype = z.infer<typeof Datatype>;

/** onnxruntime's tensor type names. */
export type OrtType =
  | "bool"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "float16"
  | "float32"
  | "float64"
  | "string";

const TO_ORT: Record<Datatype, OrtType> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};
const FROM_ORT = Object.fromEntries(Object.entries(TO_ORT).map(([k, v]) => [v, k])) as Record<
  OrtType,
  Datatype
>;

export function toOrtType(d: Datatype): OrtType {
  return TO_ORT[d];
}

/** The OIP datatype of an onnxruntime type, or undefined for types OIP cannot carry (e.g. int4, bfloat16). */
export function fromOrtType(t: string): Datatype | undefined {
  return FROM_ORT[t as OrtType];
}

export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;
export type TensorData = NumericArray | string[];

type Ctor = {
  new (n: number): NumericArray;
  new (buf: ArrayBuffer, off: number, len: number): NumericArray;
  BYTES_PER_ELEMENT: number;
};

const CTORS: Record<Exclude<Datatype, "BYTES">, Ctor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array as unknown as Ctor,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array as unknown as Ctor,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** Bytes per element, 0 for BYTES (variable). */
export function elementSize(d: Datatype): number {
  return d === "BYTES" ? 0 : CTORS[d].BYTES_PER_ELEMENT;
}

export function allocate(d: Exclude<Datatype, "BYTES">, n: number): NumericArray {
  return new CTORS[d](n);
}

/** `n` elements of type `d` at the start of `buffer` (which must hold them). */
export function viewOf(d: Exclude<Datatype, "BYTES">, buffer: ArrayBuffer, n: number): NumericArray {
  return new CTORS[d](buffer, 0, n);
}

/** A typed view of little-endian bytes, copied when unaligned (Node buffers often are). */
export function fromBytes(d: Datatype, bytes: Uint8Array): TensorData {
  if (d === "BYTES") return decodeBytesElements(bytes);
  const C = CTORS[d];
  const size = C.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0)
    throw new RangeError(`byte length ${bytes.byteLength} is not a multiple of ${size}`);
  if (bytes.byteOffset % size === 0)
    return new C(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new C(copy.buffer, 0, bytes.byteLength / size);
}

/** The raw little-endian bytes of tensor data (BYTES: 4-byte length prefix per element, as Triton does). */
export function toBytes(data: TensorData): Uint8Array {
  if (Array.isArray(data)) {
    const parts = data.map((s) => Buffer.from(s, "utf8"));
    const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, off);
      p.copy(out, off + 4);
      off += 4 + p.length;
    }
    return out;
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function decodeBytesElements(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new RangeError("truncated BYTES element length");
    const len = buf.readUInt32LE(off);
    if (off + 4 + len > buf.length) throw new RangeError("truncated BYTES element");
    out.push(buf.toString("utf8", off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

/** IEEE 754 half-precision bits of a number (round to nearest even). */
export function toHalf(value: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = value;
  const x = u[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half >>> 10;
  return sign | half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** Flattens nested arrays (OIP allows both flat row-major and nested `data`). */
export function flatten(data: unknown[]): unknown[] {
  // Nested data is nested all the way (a tensor is rectangular), so the first element tells; a mixed array
  // is flattened too and then fails the element-count or element-type check.
  if (data.length === 0 || !Array.isArray(data[0])) return data;
  return data.flat(Number.POSITIVE_INFINITY);
}

/**
 * Converts JSON values into typed data; throws a TypeError naming the first bad element. Integer types
 * reject fractions and out-of-range values instead of wrapping silently.
 */
export function fromJson(d: Datatype, values: unknown[]): TensorData {
  const n = values.length;
  if (d === "BYTES") {
    return values.map((v, i) => {
      if (typeof v !== "string") throw new TypeError(`element ${i} is not a string`);
      return v;
    });
  }
  if (d === "BOOL") {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "boolean") out[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) out[i] = v;
      else throw new TypeError(`element ${i} is not a boolean`);
    }
    return out;
  }
  if (d === "INT64" || d === "UINT64") {
    const out = d === "INT64" ? new BigInt64Array(n) : new BigUint64Array(n);
    const [lo, hi] = d === "INT64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    for (let i = 0; i < n; i++) {
      const v = values[i];
      let b: bigint;
      if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
      else if (typeof v === "string" && /^-?\d+$/.test(v)) b = BigInt(v);
      else throw new TypeError(`element ${i} is not an integer`);
      if (b < lo || b > hi) throw new TypeError(`element ${i} is out of range for ${d}`);
      out[i] = b;
    }
    return out;
  }
  if (d === "FP32" || d === "FP64") {
    const out = d === "FP32" ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "number") throw new TypeError(`element ${i} is not a number`);
      out[i] = v;
    }
    return out;
  }
  if (d === "FP16") {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "number") throw new TypeError(`element ${i} is not a number`);
      out[i] = toHalf(v);
    }
    return out;
  }
  const out = allocate(d, n) as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
  const [lo, hi] = INT_RANGE[d];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`element ${i} is not an integer`);
    if (v < lo || v > hi) throw new TypeError(`element ${i} is out of range for ${d}`);
    out[i] = v;
  }
  return out;
}

const INT_RANGE: Record<"UINT8" | "UINT16" | "UINT32" | "INT8" | "INT16" | "INT32", [number, number]> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};

/** JSON-safe values of typed data: 64-bit integers as numbers when exact, else strings; FP16 decoded. */
export function toJson(d: Datatype, data: TensorData): unknown[] {
  if (Array.isArray(data)) return data;
  if (d === "FP16") return Array.from(data as Uint16Array, fromHalf);
  if (d === "BOOL") return Array.from(data as Uint8Array, (v) => v !== 0);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return Array.from(data as ArrayLike<bigint>, (v) =>
      v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString(),
    );
  }
  return Array.from(data as ArrayLike<number>, (v) => (Number.isFinite(v) ? v : null));
}
