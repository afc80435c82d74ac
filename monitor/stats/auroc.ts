import type { BinaryCase, Estimate } from "./types.ts";

export function auroc(_cases: readonly BinaryCase[], _confidence: number): Estimate {
  throw new Error("not implemented");
}
