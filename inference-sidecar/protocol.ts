/**
 * Open Inference Protocol v2 infer requests and responses: JSON tensors and the binary tensor extension
 * (`Inference-Header-Content-Length`, `binary_data_size`, `binary_data`). Pure functions over buffers.
 */
import { z } from "zod";
import {
  Datatype,
  elementSize,
  flatten,
  fromBytes,
  fromJson,
  type TensorData,
  toBytes,
  toJson,
} from "./datatypes.ts";
import { fail, SidecarError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import { cutDataArrays, PLACEHOLDER, parseFloat32Array } from "./json-numbers.ts";
import { isBatchable, type Signature } from "./signature.ts";

export interface Tensor {
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  inputs: Map<string, Tensor>;
  /** Outputs asked for, in order; undefined = all, as JSON unless `binary_data_output` was set. */
  outputs?: RequestedOutput[];
  binaryOutputsByDefault: boolean;
}

// `data` is checked element by element in fromJson; zod only checks it is an array (150k floats through zod
// would cost more than the inference).
const ArrayOf = z.custom<unknown[]>((v) => Array.isArray(v), { message: "expected an array" });
const Parameters = z.record(z.string(), z.unknown()).optional();

const JsonRequest = z.object({
  id: z.string().max(256).optional(),
  parameters: Parameters,
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int().min(0)),
        datatype: z.string(),
        parameters: Parameters,
        data: ArrayOf.optional(),
      }),
    )
    .min(1),
  outputs: z.array(z.object({ name: z.string(), parameters: Parameters })).optional(),
});

const DEFERRED = Symbol("deferred data array");
type Deferred = unknown[] & { [DEFERRED]: number };

/**
 * Swaps each placeholder left by cutDataArrays in `inputs[i].data` for an empty array tagged with its span
 * index (zod still sees an array). False when the placeholders are not exactly those — e.g. one sat under
 * another key — and the request must be parsed whole instead.
 */
function deferDataArrays(raw: unknown, count: number): boolean {
  const inputs = (raw as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return false;
  const seen = new Set<number>();
  for (const input of inputs) {
    const data = (input as { data?: unknown } | null)?.data;
    if (typeof data !== "string" || !data.startsWith(PLACEHOLDER)) continue;
    const k = Number(data.slice(PLACEHOLDER.length));
    if (!Number.isInteger(k) || k < 0 || k >= count || seen.has(k)) return false;
    seen.add(k);
    (input as { data: unknown }).data = Object.assign([], { [DEFERRED]: k });
  }
  return seen.size === count;
}

function deferredSpan(data: unknown, spans: [number, number][]): [number, number] | undefined {
  const k = (data as Partial<Deferred>)[DEFERRED];
  return k === undefined ? undefined : spans[k];
}

function describeZod(e: z.ZodError): string {
  const issue = e.issues[0];
  if (!issue) return "invalid request";
  return `${issue.path.join(".") || "request"}: ${issue.message}`;
}

/** Parses an infer body. `headerLength` is the value of Inference-Header-Content-Length when present. */
export function parseInferRequest(
  body: Buffer,
  headerLength: number | undefined,
  sig: Signature,
): InferRequest {
  const jsonEnd = headerLength ?? body.length;
  if (!Number.isSafeInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length) {
    fail(
      "INVALID_BINARY",
      `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`,
    );
  }
  let raw: unknown;
  let spans: [number, number][] = [];
  // The numeric data arrays are cut out and read on their own (json-numbers.ts); JSON.parse sees the rest.
  const skeleton = cutDataArrays(body, 0, jsonEnd);
  // Checked before parsing: a 10k-deep array would overflow the stack of whatever walks it afterwards.
  if (nestingDepth(skeleton.text) > MAX_NESTING)
    fail("NESTING_TOO_DEEP", `the request nests arrays or objects more than ${MAX_NESTING} deep`);
  try {
    raw = JSON.parse(skeleton.text);
    spans = skeleton.spans;
    if (spans.length > 0 && !deferDataArrays(raw, spans.length)) {
      raw = JSON.parse(body.toString("utf8", 0, jsonEnd));
      spans = [];
    }
  } catch {
    fail("INVALID_JSON", "request body is not valid JSON");
  }
  const parsed = JsonRequest.safeParse(raw);
  if (!parsed.success) fail("BAD_REQUEST", describeZod(parsed.error));
  const req = parsed.data;

  const specs = new Map(sig.inputs.map((s) => [s.name, s]));
  const known = () => [...specs.keys()].map((n) => `"${n}"`).join(", ");
  const inputs = new Map<string, Tensor>();
  let offset = jsonEnd;
  for (const input of req.inputs) {
    const spec = specs.get(input.name);
    if (!spec) fail("UNKNOWN_INPUT", `unknown input "${input.name}"; the model takes ${known()}`);
    if (inputs.has(input.name)) fail("DUPLICATE_INPUT", `input "${input.name}" appears more than once`);
    const dt = Datatype.safeParse(input.datatype);
    if (!dt.success) fail("DATATYPE_MISMATCH", `input "${input.name}": unknown datatype "${input.datatype}"`);
    if (dt.data !== spec.datatype)
      fail("DATATYPE_MISMATCH", `input "${input.name}" is ${spec.datatype}, got ${dt.data}`);
    checkShape(input.name, input.shape, spec.shape);
    const count = input.shape.reduce((a, b) => a * b, 1);
    // Every element takes at least one byte of the body (a digit, or a binary byte): a shape that declares
    // more is refused before anything is sized by it.
    if (!Number.isSafeInteger(count) || count > body.length)
      fail(
        "DATA_SIZE_MISMATCH",
        `input "${input.name}": shape [${input.shape.slice(0, 8)}] needs ${count} elements, more than a ${body.length}-byte body can hold`,
      );
    const binarySize = input.parameters?.binary_data_size;
    let data: TensorData;
    if (binarySize !== undefined) {
      if (headerLength === undefined)
        fail(
          "INVALID_BINARY",
          `input "${input.name}" has binary_data_size but the request has no Inference-Header-Content-Length`,
        );
      if (typeof binarySize !== "number" || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        fail("INVALID_BINARY", `input "${input.name}": binary_data_size must be a non-negative integer`);
      }
      if (offset + binarySize > body.length)
        fail(
          "INVALID_BINARY",
          `input "${input.name}": binary_data_size ${binarySize} runs past the end of the body`,
        );
      const size = elementSize(spec.datatype);
      if (size > 0 && binarySize !== count * size) {
        fail(
          "DATA_SIZE_MISMATCH",
          `input "${input.name}": shape [${input.shape}] needs ${count * size} bytes of ${spec.datatype}, got ${binarySize}`,
        );
      }
      try {
        data = fromBytes(spec.datatype, body.subarray(offset, offset + binarySize));
      } catch (e) {
        fail("INVALID_BINARY", `input "${input.name}": ${(e as Error).message}`);
      }
      offset += binarySize;
    } else {
      if (input.data === undefined)
        fail("BAD_REQUEST", `input "${input.name}" has neither data nor binary_data_size`);
      const span = deferredSpan(input.data, spans);
      const fast =
        span && spec.datatype === "FP32" ? parseFloat32Array(body, span[0], span[1], count) : undefined;
      if (typeof fast === "number")
        fail(
          "DATA_SIZE_MISMATCH",
          `input "${input.name}": shape [${input.shape}] needs ${count} elements, got ${fast}`,
        );
      if (fast) {
        inputs.set(input.name, { datatype: spec.datatype, shape: input.shape, data: fast });
        continue;
      }
      let values = input.data;
      if (span) {
        try {
          values = JSON.parse(body.toString("utf8", span[0], span[1]));
        } catch {
          fail("INVALID_JSON", "request body is not valid JSON");
        }
      }
      const flat = flatten(values);
      if (flat.length !== count)
        fail(
          "DATA_SIZE_MISMATCH",
          `input "${input.name}": shape [${input.shape}] needs ${count} elements, got ${flat.length}`,
        );
      try {
        data = fromJson(spec.datatype, flat);
      } catch (e) {
        fail("INVALID_DATA", `input "${input.name}": ${(e as Error).message}`);
      }
    }
    if (Array.isArray(data) && data.length !== count) {
      fail(
        "DATA_SIZE_MISMATCH",
        `input "${input.name}": shape [${input.shape}] needs ${count} elements, got ${data.length}`,
      );
    }
    inputs.set(input.name, { datatype: spec.datatype, shape: input.shape, data });
  }
  if (offset !== body.length)
    fail("INVALID_BINARY", `${body.length - offset} bytes after the last binary input are unaccounted for`);
  assertFinite("input", inputs);
  const missing = sig.inputs.filter((s) => !inputs.has(s.name)).map((s) => `"${s.name}"`);
  if (missing.length > 0) fail("MISSING_INPUT", `missing input(s) ${missing.join(", ")}`);
  if (isBatchable(sig)) {
    const batch = new Set([...inputs.values()].map((t) => t.shape[0]));
    if (batch.size > 1)
      fail("SHAPE_MISMATCH", `inputs disagree on the batch dimension (${[...batch].join(" vs ")})`);
  }

  const binaryOutputsByDefault = req.parameters?.binary_data_output === true;
  let outputs: RequestedOutput[] | undefined;
  if (req.outputs !== undefined) {
    const outNames = new Set(sig.outputs.map((o) => o.name));
    // Each output at most once: asking for one output 100,000 times must not multiply the response.
    const asked = new Set<string>();
    outputs = req.outputs.map((o) => {
      if (asked.has(o.name))
        fail("DUPLICATE_OUTPUT", `output "${o.name.slice(0, 100)}" is requested more than once`);
      asked.add(o.name);
      if (!outNames.has(o.name))
        fail(
          "UNKNOWN_OUTPUT",
          `unknown output "${o.name.slice(0, 100)}"; the model gives ${[...outNames].map((n) => `"${n}"`).join(", ")}`,
        );
      const b = o.parameters?.binary_data;
      return { name: o.name, binary: b === undefined ? binaryOutputsByDefault : b === true };
    });
  }
  return { id: req.id, inputs, outputs, binaryOutputsByDefault };
}

/** Deepest the JSON of an infer request may nest: the envelope (3) plus tensors of rank up to 29. */
export const MAX_NESTING = 32;

/** Deepest nesting of arrays and objects in JSON text (strings skipped), stopping early once past the limit. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the next character).
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
      if (max > MAX_NESTING) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function checkShape(name: string, got: number[], want: number[]): void {
  if (want.length === 0 && got.length === 0) return;
  if (got.length !== want.length)
    fail("SHAPE_MISMATCH", `input "${name}" has rank ${want.length} [${want}], got shape [${got}]`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? -1;
    if (w !== -1 && got[i] !== w)
      fail("SHAPE_MISMATCH", `input "${name}" dim ${i} must be ${w} (shape [${want}]), got shape [${got}]`);
  }
}

export interface ResponseMeta {
  modelName: string;
  modelVersion?: string;
  id: string;
  parameters?: Record<string, unknown>;
}

export interface EncodedResponse {
  body: Buffer;
  /** Set when any output is binary: the JSON header length for Inference-Header-Content-Length. */
  headerLength?: number;
}

/** Encodes outputs, in the requested order, as JSON or with binary outputs appended after the JSON header. */
export function encodeInferResponse(
  meta: ResponseMeta,
  outputs: Map<string, Tensor>,
  requested: RequestedOutput[],
): EncodedResponse {
  const json: Record<string, unknown>[] = [];
  const chunks: Uint8Array[] = [];
  for (const r of requested) {
    const t = outputs.get(r.name);
    if (!t) throw new SidecarError("INTERNAL", `model produced no output "${r.name}"`);
    if (r.binary) {
      const bytes = toBytes(t.data);
      chunks.push(bytes);
      json.push({
        name: r.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: bytes.byteLength },
      });
    } else {
      json.push({ name: r.name, datatype: t.datatype, shape: t.shape, data: toJson(t.datatype, t.data) });
    }
  }
  const head = Buffer.from(
    JSON.stringify({
      model_name: meta.modelName,
      ...(meta.modelVersion !== undefined ? { model_version: meta.modelVersion } : {}),
      id: meta.id,
      ...(meta.parameters ? { parameters: meta.parameters } : {}),
      outputs: json,
    }),
  );
  if (chunks.length === 0) return { body: head };
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}

/** Builds a binary-extension request body: JSON header + raw tensors. Used by clients, tests and benchmarks. */
export function encodeBinaryRequest(
  inputs: { name: string; datatype: Datatype; shape: number[]; data: TensorData }[],
  opts: { id?: string; outputs?: { name: string; binary?: boolean }[] } = {},
): { body: Buffer; headerLength: number } {
  const chunks = inputs.map((i) => toBytes(i.data));
  const head = Buffer.from(
    JSON.stringify({
      ...(opts.id ? { id: opts.id } : {}),
      inputs: inputs.map((i, k) => ({
        name: i.name,
        datatype: i.datatype,
        shape: i.shape,
        parameters: { binary_data_size: chunks[k]?.byteLength },
      })),
      ...(opts.outputs
        ? {
            outputs: opts.outputs.map((o) => ({
              name: o.name,
              parameters: { binary_data: o.binary ?? true },
            })),
          }
        : {}),
    }),
  );
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}

/** Decodes a response body (JSON or binary-extension) into tensors. Used by clients, tests and benchmarks. */
export function decodeInferResponse(
  body: Buffer,
  headerLength: number | undefined,
): { json: Record<string, unknown>; outputs: Map<string, Tensor> } {
  const end = headerLength ?? body.length;
  const json = JSON.parse(body.toString("utf8", 0, end)) as {
    outputs: {
      name: string;
      datatype: Datatype;
      shape: number[];
      data?: unknown[];
      parameters?: { binary_data_size?: number };
    }[];
  };
  const outputs = new Map<string, Tensor>();
  let off = end;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      outputs.set(o.name, {
        datatype: o.datatype,
        shape: o.shape,
        data: fromBytes(o.datatype, body.subarray(off, off + size)),
      });
      off += size;
    } else {
      outputs.set(o.name, { datatype: o.datatype, shape: o.shape, data: fromJson(o.datatype, o.data ?? []) });
    }
  }
  return { json: json as unknown as Record<string, unknown>, outputs };
}
