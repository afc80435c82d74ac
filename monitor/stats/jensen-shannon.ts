/**
 * Jensen–Shannon distance (the square root of the divergence, natural logarithm), as scipy.spatial.distance.
 * jensenshannon and Evidently report it: sqrt(½ KL(r‖m) + ½ KL(c‖m)) with m = (r + c)/2. In [0, √ln 2].
 */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const nr = reference.reduce((a, b) => a + b, 0);
  const nc = current.reduce((a, b) => a + b, 0);
  if (nr === 0 || nc === 0) return 0;
  let divergence = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]! / nr;
    const c = (current[i] ?? 0) / nc;
    const m = (r + c) / 2;
    if (r > 0) divergence += 0.5 * r * Math.log(r / m);
    if (c > 0) divergence += 0.5 * c * Math.log(c / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}
