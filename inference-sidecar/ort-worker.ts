/**
 * onnxruntime in a worker thread. onnxruntime-node's `session.run` is synchronous on the calling thread, so on
 * the main thread a run blocks the event loop: health probes and metrics wait, and requests for the next batch
 * stay unread in socket buffers until the run ends. In a worker the event loop keeps receiving while
 * onnxruntime computes, so the next batch is ready when the current one finishes.
 *
 * The worker is plain JavaScript evaluated from a string (no TypeScript loader, no file to ship next to the
 * compiled output); it loads onnxruntime-node from the path the main thread resolves.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type * as ort from "onnxruntime-node";
import { isOwned, MIN_POOLED, ownedPool } from "./owned-buffers.ts";
import type { ValueMetadata } from "./signature.ts";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
let session;
const meta = (list) => list.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.shape ? Array.from(m.shape) : undefined }));
parentPort.on("message", async (msg) => {
  try {
    if (msg.type === "load") {
      session = await ort.InferenceSession.create(msg.bytes, msg.options);
      parentPort.postMessage({ id: msg.id, ok: true, inputMetadata: meta(session.inputMetadata), outputMetadata: meta(session.outputMetadata) });
    } else if (msg.type === "run") {
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const result = {};
      const transfer = [];
      for (const [name, t] of Object.entries(out)) {
        result[name] = { type: t.type, data: t.data, dims: Array.from(t.dims) };
        if (t.data && t.data.buffer instanceof ArrayBuffer) transfer.push(t.data.buffer);
      }
      // The inputs' memory goes home too, for the next request bodies (unless an output shares it).
      const returned = [];
      for (const t of Object.values(msg.feeds)) {
        const b = t.data && t.data.buffer;
        if (b instanceof ArrayBuffer && b.byteLength >= workerData.minPooled && !transfer.includes(b)) { transfer.push(b); returned.push(b); }
      }
      parentPort.postMessage({ id: msg.id, ok: true, result, returned }, transfer);
    } else if (msg.type === "release") {
      if (session) await session.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String((e && e.message) || e) });
  }
});
`;

export interface PlainTensor {
  type: string;
  data: ort.Tensor["data"];
  dims: readonly number[];
}

/** The part of an onnxruntime session the sidecar uses; implemented in-thread or by the worker. */
export interface SessionLike {
  /** Whether `run` blocks the calling thread's event loop while onnxruntime computes (main-thread sessions). */
  readonly blocksEventLoop: boolean;
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  run(feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>>;
  release(): Promise<void>;
}

type Reply = { id: number; ok: true; [k: string]: unknown } | { id: number; ok: false; error: string };

export class WorkerSession implements SessionLike {
  readonly blocksEventLoop = false;
  inputMetadata: readonly ValueMetadata[] = [];
  outputMetadata: readonly ValueMetadata[] = [];
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private next = 0;
  private dead: Error | undefined;

  private constructor() {
    const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, minPooled: MIN_POOLED } });
    this.worker.unref();
    this.worker.on("message", (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      p.resolve(r);
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`inference worker exited (${code})`)));
  }

  static async create(
    bytes: Uint8Array,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<WorkerSession> {
    const s = new WorkerSession();
    try {
      const r = await s.call({ type: "load", bytes, options });
      s.inputMetadata = r.inputMetadata as ValueMetadata[];
      s.outputMetadata = r.outputMetadata as ValueMetadata[];
      return s;
    } catch (e) {
      await s.worker.terminate();
      throw e;
    }
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply & { ok: true }> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => (r.ok ? resolve(r as Reply & { ok: true }) : reject(new Error(r.error))),
        reject,
      });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /**
   * Inputs in buffers the sidecar owns (a request body it allocated, a stacked batch) are transferred —
   * moved to the worker without a copy, and empty here afterwards; any other input is copied. Large input
   * buffers come back with the answer and go to the owned pool.
   */
  async run(feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>> {
    const transfer = new Set<ArrayBuffer>();
    for (const t of Object.values(feeds)) {
      const buffer = (t.data as { buffer?: ArrayBufferLike }).buffer;
      if (buffer && isOwned(buffer)) transfer.add(buffer);
    }
    const r = await this.call({ type: "run", feeds }, [...transfer]);
    // Input memory the worker sent back: every view of it here was detached when it left, so nothing can
    // still read it; recycled for the next bodies (see owned-buffers.ts).
    for (const b of (r.returned as ArrayBuffer[] | undefined) ?? []) ownedPool.give(b);
    return r.result as Record<string, PlainTensor>;
  }

  async release(): Promise<void> {
    if (!this.dead) await this.call({ type: "release" }).catch(() => undefined);
    await this.worker.terminate();
  }
}
