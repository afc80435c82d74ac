/**
 * From raw outputs to clinical answers: the declared activation, labels, and the operating-point decision.
 * Pure functions.
 */
import type { OutputSpec } from "./signature.ts";

export function softmax(x: ArrayLike<number>): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i] as number);
  const e = Array.from(x, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function sigmoid(x: ArrayLike<number>): number[] {
  return Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
}

/** Applies the activation row by row over the last dimension. */
export function activate(
  activation: OutputSpec["activation"],
  data: ArrayLike<number>,
  shape: number[],
): number[] {
  if (activation === "none") return Array.from(data);
  if (activation === "sigmoid") return sigmoid(data);
  const last = shape[shape.length - 1] ?? data.length;
  const out: number[] = [];
  for (let off = 0; off < data.length; off += last)
    out.push(...softmax(Array.prototype.slice.call(data, off, off + last) as number[]));
  return out;
}

export interface Decision {
  label: string;
  score: number;
  threshold: number;
  positive: boolean;
}

export interface ItemPrediction {
  scores: { label: string; score: number }[];
  top: { label: string; score: number };
  decision?: Decision;
}

/**
 * Per item (row of the last dimension): labelled scores, the top label, and the operating-point decision.
 * The decision is on one class's score: the labelled one (`{label, threshold}`), else the positive class by
 * the binary convention [negative, positive] — the last label (the only one for a single sigmoid output).
 */
export function predictions(spec: OutputSpec, probs: number[], shape: number[]): ItemPrediction[] {
  const last = shape[shape.length - 1] ?? probs.length;
  const labels =
    spec.labels && spec.labels.length === last
      ? spec.labels
      : Array.from({ length: last }, (_, i) => String(i));
  const items: ItemPrediction[] = [];
  for (let off = 0; off + last <= probs.length && last > 0; off += last) {
    const scores = labels.map((label, i) => ({ label, score: probs[off + i] as number }));
    const top = scores.reduce((a, b) => (b.score > a.score ? b : a));
    const item: ItemPrediction = { scores, top };
    const op = spec.operatingPoint;
    if (op !== undefined) {
      const threshold = typeof op === "number" ? op : op.threshold;
      const label = typeof op === "object" && op.label !== undefined ? op.label : undefined;
      const positive = scores[scores.length - 1] as { label: string; score: number };
      const chosen = label !== undefined ? (scores.find((s) => s.label === label) ?? positive) : positive;
      item.decision = {
        label: chosen.label,
        score: chosen.score,
        threshold,
        positive: chosen.score >= threshold,
      };
    }
    items.push(item);
  }
  return items;
}
