/**
 * Per-request intensity statistics of a preprocessed input tensor, from a stride sample so a 3×512×512 image
 * costs microseconds: mean and standard deviation from up to MOMENT_SAMPLE values (the /metrics histograms and
 * the monitor's records), and — for the monitor only — the 5th, 50th and 95th percentiles from up to
 * PERCENTILE_SAMPLE of them (sorting more would cost more than the per-request budget; a percentile of 256
 * values is within about ±1.4 percentage points of rank, and the drift tests compare distributions of these
 * per-request values, to which that noise adds a constant spread, not a shift).
 */

export const MOMENT_SAMPLE = 4096;
export const PERCENTILE_SAMPLE = 256;

export interface InputSummary {
  mean: number;
  std: number;
  p5?: number;
  p50?: number;
  p95?: number;
}

const scratch = new Float64Array(PERCENTILE_SAMPLE + 1);

/** Linear interpolation between closest ranks (numpy's default) on sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** undefined when the tensor is empty or holds no finite value. */
export function summarizeInput(
  data: ArrayLike<number | bigint>,
  percentiles: boolean,
): InputSummary | undefined {
  const length = data.length;
  if (length === 0) return undefined;
  const stride = Math.max(1, Math.floor(length / MOMENT_SAMPLE));
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < length; i += stride) {
    const v = Number(data[i]);
    if (!Number.isFinite(v)) continue;
    n++;
    sum += v;
    sq += v * v;
  }
  if (n === 0) return undefined;
  const mean = sum / n;
  const out: InputSummary = { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
  if (!percentiles) return out;
  const pStride = Math.max(1, Math.floor(length / PERCENTILE_SAMPLE));
  let k = 0;
  for (let i = 0; i < length && k < scratch.length; i += pStride) {
    const v = Number(data[i]);
    if (Number.isFinite(v)) scratch[k++] = v;
  }
  const sorted = scratch.subarray(0, k).sort();
  out.p5 = percentile(sorted, 0.05);
  out.p50 = percentile(sorted, 0.5);
  out.p95 = percentile(sorted, 0.95);
  return out;
}
