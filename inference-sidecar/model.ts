/**
 * Loading one ONNX model: digest check before anything reads the bytes as a model, execution providers in
 * order with fallback to CPU, and the signature (declared or derived) reconciled with the model.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { type Datatype, elementSize, toOrtType, viewOf } from "./datatypes.ts";
import { ownedPool } from "./owned-buffers.ts";
import { type PlainTensor, type SessionLike, WorkerSession } from "./ort-worker.ts";
import type { Tensor } from "./protocol.ts";
import { deriveSignature, reconcileSignature, type Signature, type ValueMetadata } from "./signature.ts";

export class DigestMismatchError extends Error {
  override name = "DigestMismatchError";
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface LoadOptions {
  path: string;
  /** Expected sha256 (hex); the model is refused when it differs. */
  sha256?: string;
  signature?: Signature;
  /** Providers to try in order, e.g. ["cuda", "cpu"]; CPU is always the last resort. */
  executionProviders?: string[];
  intraOpNumThreads?: number;
  /**
   * Let onnxruntime's pool threads busy-wait between operators (its default). Off by default here: a spinning
   * thread takes the core the event loop needs to receive the next request, burns the pod's CPU quota (CFS
   * throttling then stalls the whole run), and — measured on 2 cores — made a neighbouring process's runs
   * almost 2× slower. See docs/sidecar.md.
   */
  spinWait?: boolean;
  /** Where onnxruntime runs: a worker thread (default; the event loop stays free) or the main thread. */
  thread?: "worker" | "main";
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface LoadedModel {
  session: SessionLike;
  signature: Signature;
  sha256: string;
  executionProvider: string;
}

export async function loadModel(opts: LoadOptions): Promise<LoadedModel> {
  const bytes = await readFile(opts.path);
  const digest = sha256Hex(bytes);
  if (opts.sha256 !== undefined && digest !== opts.sha256.toLowerCase()) {
    throw new DigestMismatchError(
      `model digest mismatch: expected sha256 ${opts.sha256.toLowerCase()}, file has ${digest}; refusing to load`,
    );
  }
  const wanted = (opts.executionProviders ?? ["cpu"]).map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (!wanted.includes("cpu")) wanted.push("cpu");
  let session: SessionLike | undefined;
  let used = "";
  const errors: string[] = [];
  for (const ep of wanted) {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      graphOptimizationLevel: "all",
      ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
      extra: { session: { intra_op: { allow_spinning: opts.spinWait ? "1" : "0" } } },
    };
    try {
      session =
        opts.thread === "main"
          ? mainThreadSession(await ort.InferenceSession.create(bytes, options))
          : await WorkerSession.create(bytes, options);
      used = ep;
      break;
    } catch (e) {
      errors.push(`${ep}: ${(e as Error).message}`);
      opts.log?.(`execution provider ${ep} unavailable, trying the next`, {
        provider: ep,
        reason: (e as Error).message.slice(0, 300),
      });
    }
  }
  if (!session) throw new Error(`no execution provider could load the model (${errors.join("; ")})`);
  const derived = deriveSignature(
    session.inputMetadata as readonly ValueMetadata[],
    session.outputMetadata as readonly ValueMetadata[],
  );
  const signature = opts.signature ? reconcileSignature(opts.signature, derived) : derived;
  return { session, signature, sha256: digest, executionProvider: used };
}

function mainThreadSession(session: ort.InferenceSession): SessionLike {
  return {
    blocksEventLoop: true,
    inputMetadata: session.inputMetadata as readonly ValueMetadata[],
    outputMetadata: session.outputMetadata as readonly ValueMetadata[],
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds))
        tensors[name] = new ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims);
      return session.run(tensors);
    },
    release: () => session.release(),
  };
}

function toPlain(t: Tensor): PlainTensor {
  return { type: toOrtType(t.datatype), data: t.data as PlainTensor["data"], dims: t.shape };
}

/**
 * Runs a batch: requests are stacked along dim 0 (each may carry several items), the session runs once and
 * every output is split back by each request's item count. With one request the tensors pass straight through.
 */
export async function runBatch(
  session: SessionLike,
  sig: Signature,
  requests: Map<string, Tensor>[],
): Promise<Map<string, Tensor>[]> {
  const feeds: Record<string, PlainTensor> = {};
  const counts = requests.map((r) => r.values().next().value?.shape[0] ?? 1);
  for (const spec of sig.inputs) {
    const parts = requests.map((r) => r.get(spec.name) as Tensor);
    feeds[spec.name] = toPlain(parts.length === 1 ? (parts[0] as Tensor) : concat(spec.datatype, parts));
  }
  if (requests.length > 1) {
    // Stacked: the requests' own buffers (their bodies) are read no more; their pages serve the next bodies.
    for (const r of requests) for (const t of r.values()) ownedPool.recycle(bufferOf(t));
  }
  const result = await session.run(feeds);
  const outs = requests.map(() => new Map<string, Tensor>());
  for (const spec of sig.outputs) {
    const t = result[spec.name];
    if (!t) throw new Error(`model produced no output "${spec.name}"`);
    const shape = [...t.dims];
    const data = t.data as Tensor["data"];
    if (requests.length === 1) {
      outs[0]?.set(spec.name, { datatype: spec.datatype, shape, data });
      continue;
    }
    const total = counts.reduce((a, b) => a + b, 0);
    if (shape[0] !== total)
      throw new Error(`output "${spec.name}" dim 0 is ${shape[0]}, expected the batch size ${total}`);
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    let off = 0;
    counts.forEach((n, i) => {
      const slice = Array.isArray(data)
        ? data.slice(off * per, (off + n) * per)
        : data.slice(off * per, (off + n) * per);
      outs[i]?.set(spec.name, { datatype: spec.datatype, shape: [n, ...shape.slice(1)], data: slice });
      off += n;
    });
  }
  return outs;
}

function bufferOf(t: Tensor): ArrayBufferLike | undefined {
  return Array.isArray(t.data) ? undefined : (t.data as Float32Array).buffer;
}

function concat(datatype: Datatype, parts: Tensor[]): Tensor {
  const first = parts[0] as Tensor;
  const rows = parts.reduce((a, p) => a + (p.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (datatype === "BYTES") return { datatype, shape, data: parts.flatMap((p) => p.data as string[]) };
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  // A stack only the batch uses, from the owned pool: it moves to the inference worker without a copy.
  const out = viewOf(datatype, ownedPool.take(total * elementSize(datatype)), total);
  let off = 0;
  for (const p of parts) {
    (out as Float32Array).set(p.data as Float32Array, off);
    off += p.data.length;
  }
  return { datatype, shape, data: out };
}

/** The key requests must share to be stacked: every input's shape after dim 0. */
export function batchKey(inputs: Map<string, Tensor>): string {
  let key = "";
  for (const [name, t] of inputs) key += `${name}:${t.shape.slice(1).join("x")};`;
  return key;
}
