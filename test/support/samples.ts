/**
 * Seeded samples for the statistics tests (test helper).
 */
import { mulberry32 } from "./mulberry32.ts";

export function normalSampler(seed: number): (mean?: number, sd?: number) => number {
  const uniform = mulberry32(seed);
  return (mean = 0, sd = 1) => {
    // Box–Muller; 1 − u keeps the logarithm finite.
    const u = 1 - uniform();
    const v = uniform();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function sample(n: number, draw: () => number): number[] {
  return Array.from({ length: n }, draw);
}
