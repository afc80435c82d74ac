/**
 * Per-request intensity statistics of a preprocessed input tensor, from a stride sample so a 3×512×512 image
 * costs microseconds: mean and standard deviation from up to MOMENT_SAMPLE values (the /metrics histograms and
 * the monitor's records), and — for the monitor only — the 5th, 50th and 95th percentiles from up to
 * PERCENTILE_SAMPLE of them, by selection rather than sorting (more would cost more than the per-request budget; a percentile of 256
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

/**
 * Rearranges a[from..to] so that a[k] holds its k-th smallest value, smaller-or-equal values before it and
 * greater-or-equal after (Hoare's quickselect, median-of-three pivot). Linear on average: three percentiles of
 * 256 values this way cost a fraction of sorting them, which mattered for the per-request CPU budget.
 */
function selectInPlace(a: Float64Array, from: number, to: number, k: number): void {
  let lo = from;
  let hi = to;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot value
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * Percentiles with linear interpolation between closest ranks (numpy's default), for ascending qs, by selection
 * in place (the order of `a` is lost).
 */
export function percentilesInPlace(a: Float64Array, qs: readonly number[]): number[] {
  const n = a.length;
  const out: number[] = [];
  let from = 0;
  for (const q of qs) {
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    selectInPlace(a, from, n - 1, lo);
    let v = a[lo]!;
    if (pos > lo) {
      // the next order statistic is the smallest value to the right of lo
      let next = a[lo + 1]!;
      for (let i = lo + 2; i < n; i++) if (a[i]! < next) next = a[i]!;
      v += (next - v) * (pos - lo);
    }
    out.push(v);
    from = lo;
  }
  return out;
}

/** undefined when the tensor is empty or holds no finite value. */
export function summarizeInput(
  data: ArrayLike<number | bigint>,
  percentiles: boolean,
): InputSummary | undefined {
  const length = data.length;
  if (length === 0) return undefined;
  const stride = Math.max(1, Math.floor(length / MOMENT_SAMPLE));
  // The percentile sample is every `every`-th value of the moment sample: one pass, memory already in cache.
  const every = percentiles ? Math.max(1, Math.ceil(Math.ceil(length / stride) / PERCENTILE_SAMPLE)) : 0;
  let n = 0;
  let k = 0;
  let sum = 0;
  let sq = 0;
  let countdown = 0;
  const room = every === 0 ? 0 : scratch.length;
  for (let i = 0; i < length; i += stride) {
    const v = Number(data[i]);
    if (!Number.isFinite(v)) continue;
    n++;
    sum += v;
    sq += v * v;
    if (countdown === 0 && k < room) {
      scratch[k++] = v;
      countdown = every;
    }
    countdown--;
  }
  if (n === 0) return undefined;
  const mean = sum / n;
  const out: InputSummary = { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
  if (!percentiles || k === 0) return out;
  const [p5, p50, p95] = percentilesInPlace(scratch.subarray(0, k), [0.05, 0.5, 0.95]);
  out.p5 = p5;
  out.p50 = p50;
  out.p95 = p95;
  return out;
}
