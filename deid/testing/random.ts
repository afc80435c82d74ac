import { mulberry32 } from "../../test/support/mulberry32.ts";
/** Seeded generator shared by the test helpers (test/support/mulberry32.ts). */
export const rng = mulberry32;

export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function letters(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(65 + int(r, 0, 25));
  return s;
}
