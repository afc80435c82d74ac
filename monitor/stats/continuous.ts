import type { Estimate } from "./types.ts";

export function meanAbsoluteError(
  _pairs: readonly { predicted: number; actual: number }[],
  _confidence: number,
): Estimate {
  throw new Error("not implemented");
}

export function meanDice(_values: readonly number[], _confidence: number): Estimate {
  throw new Error("not implemented");
}
