import type { BinaryCase, Estimate } from "./types.ts";

export interface CalibrationOptions {
  bins?: number;
  resamples?: number;
  seed?: number;
}

export function calibrationError(
  _cases: readonly BinaryCase[],
  _confidence: number,
  _opts: CalibrationOptions = {},
): Estimate {
  throw new Error("not implemented");
}
