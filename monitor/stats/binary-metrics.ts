import type { BinaryCase, BinaryMetricName, Estimate } from "./types.ts";

export function wilson(_successes: number, _n: number, _confidence: number): [number, number] {
  throw new Error("not implemented");
}

export function binaryMetrics(
  _cases: readonly BinaryCase[],
  _confidence: number,
): Record<BinaryMetricName, Estimate> {
  throw new Error("not implemented");
}
