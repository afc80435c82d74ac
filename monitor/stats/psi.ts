/**
 * Population stability index: Σ (c_i − r_i) · ln(c_i / r_i) over bins, with r and c the reference and current
 * proportions. An empty bin's proportion is replaced by 1e-4 (as Evidently does), so PSI stays finite.
 */
export const PSI_EMPTY_BIN = 1e-4;

export function psi(reference: readonly number[], current: readonly number[]): number {
  const nr = reference.reduce((a, b) => a + b, 0);
  const nc = current.reduce((a, b) => a + b, 0);
  if (nr === 0 || nc === 0) return 0;
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]! / nr || PSI_EMPTY_BIN;
    const c = (current[i] ?? 0) / nc || PSI_EMPTY_BIN;
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}
