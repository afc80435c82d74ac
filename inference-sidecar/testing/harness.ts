/**
 * Test harness: a real Sidecar on a real model, plus an independent onnxruntime session on the same file as
 * the reference every answer is compared with.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { pino } from "pino";
import type { CaseIdKey } from "../case-id.ts";
import { loadCodecs } from "../dicom/pixels.ts";
import { loadModel } from "../model.ts";
import { Sidecar, type SidecarConfig } from "../server.ts";
import type { Signature } from "../signature.ts";
import { type TestModelName, writeModel } from "./models.ts";

export const TEST_CASE_KEY: CaseIdKey = { key: Buffer.from("test-case-id-key-0123456789"), persistent: true };

export interface Harness {
  sidecar: Sidecar;
  reference: ort.InferenceSession;
  modelPath: string;
  /** Base URL when started with `listen: true`. */
  url: string;
  close(): Promise<void>;
}

export async function startHarness(
  model: TestModelName,
  opts: Partial<SidecarConfig> & { signature?: Signature; listen?: boolean; sha256?: string } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "sidecar-test-"));
  const modelPath = writeModel(dir, model);
  const sidecar = new Sidecar({
    modelName: opts.modelName ?? model,
    modelVersion: opts.modelVersion ?? "1",
    maxBatchSize: opts.maxBatchSize ?? 8,
    maxQueueDelayMs: opts.maxQueueDelayMs ?? 0,
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    requestTimeoutMs: opts.requestTimeoutMs ?? 20_000,
    caseIdKey: opts.caseIdKey ?? TEST_CASE_KEY,
    logger: opts.logger ?? pino({ level: "silent" }),
    deid: opts.deid,
    maxQueue: opts.maxQueue,
    keepDir: opts.keepDir,
    monitor: opts.monitor,
    registry: opts.registry,
  });
  const [loaded] = await Promise.all([
    loadModel({ path: modelPath, signature: opts.signature, sha256: opts.sha256 }),
    loadCodecs(),
  ]);
  sidecar.setModel(loaded);
  let url = "";
  if (opts.listen) url = await sidecar.app.listen({ port: 0, host: "127.0.0.1" });
  else await sidecar.app.ready();
  const reference = await ort.InferenceSession.create(modelPath);
  return {
    sidecar,
    reference,
    modelPath,
    url,
    async close() {
      await sidecar.close();
      await reference.release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random floats for inputs. */
export function randomFloats(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
