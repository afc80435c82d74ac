/**
 * Warm-up before ready: the session runs a few times on zero inputs at batch 1 before the sidecar reports
 * ready. The first clinical request after a rollout or failover then does not pay onnxruntime's first-run
 * costs (memory arena, kernel selection), and a model that loads but cannot run — a broken graph only
 * execution shows, a provider that fails at run time — never becomes ready, so the rollout holds it back
 * instead of routing patients' images to it.
 */
import { allocate, toOrtType } from "./datatypes.ts";
import type { LoadedModel } from "./model.ts";
import type { PlainTensor } from "./ort-worker.ts";
import type { Signature } from "./signature.ts";

export class WarmUpError extends Error {
  override name = "WarmUpError";
}

export type WarmUpResult = { ran: number; firstMs: number; lastMs: number } | { ran: 0; skipped: string };

/**
 * Zero inputs at batch 1, or why there are none: a dynamic dimension other than the batch (an image size the
 * model leaves open) or a BYTES input has no shape or content to guess.
 */
export function warmUpFeeds(sig: Signature): Record<string, PlainTensor> | string {
  const feeds: Record<string, PlainTensor> = {};
  for (const input of sig.inputs) {
    if (input.datatype === "BYTES") return `input "${input.name}" is BYTES`;
    const dims = input.shape.map((d, i) => (d === -1 && i === 0 ? 1 : d));
    if (dims.some((d) => d < 0)) return `input "${input.name}" has dynamic dimensions [${input.shape}]`;
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = { type: toOrtType(input.datatype), data: allocate(input.datatype, n), dims };
  }
  return feeds;
}

/** Runs the model `runs` times; throws (with onnxruntime's message) when a run fails. */
export async function warmUp(
  model: LoadedModel,
  runs: number,
  now = () => performance.now(),
): Promise<WarmUpResult> {
  if (runs <= 0) return { ran: 0, skipped: "disabled" };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Fresh inputs each run: the worker takes ownership of what it is sent.
    const feeds = warmUpFeeds(model.signature);
    if (typeof feeds === "string") return { ran: 0, skipped: feeds };
    const t = now();
    try {
      await model.session.run(feeds);
    } catch (e) {
      throw new WarmUpError(`warm-up run ${i + 1} of ${runs} failed: ${(e as Error).message.slice(0, 500)}`);
    }
    times.push(now() - t);
  }
  return { ran: runs, firstMs: times[0] as number, lastMs: times[times.length - 1] as number };
}
