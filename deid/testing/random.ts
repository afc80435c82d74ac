/** Seeded pseudo-random numbers (mulberry32) so fuzz and property tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function letters(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(65 + int(r, 0, 25));
  return s;
}
