/**
 * Non-finite numbers never become a decision: a NaN or an infinity in a model input (a corrupt image, a rescale
 * slope of 1e308, a JSON 1e999) or in a model output makes every comparison false, and an answer such as
 * `positive: false` would read as a confident negative. Such requests are refused with 422 instead.
 */
import type { Datatype, TensorData } from "./datatypes.ts";
import { SidecarError } from "./errors.ts";
import type { Tensor } from "./protocol.ts";

const HALF_EXPONENT = 0x7c00;

/** Index of the first NaN or ±Infinity in float data, or -1 (integer, boolean and string data are always finite). */
export function firstNonFinite(datatype: Datatype, data: TensorData): number {
  if (datatype === "FP16") {
    const h = data as Uint16Array;
    for (let i = 0; i < h.length; i++) if (((h[i] as number) & HALF_EXPONENT) === HALF_EXPONENT) return i;
    return -1;
  }
  if (datatype !== "FP32" && datatype !== "FP64") return -1;
  const f = data as Float32Array | Float64Array;
  for (let i = 0; i < f.length; i++) {
    const v = f[i] as number;
    // v - v is 0 for finite values and NaN for NaN and ±Infinity: one test, no branch per kind.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Throws NON_FINITE_INPUT / NON_FINITE_OUTPUT naming the tensor and element (never the value). */
export function assertFinite(kind: "input" | "output", tensors: Map<string, Tensor>): void {
  for (const [name, t] of tensors) {
    const i = firstNonFinite(t.datatype, t.data);
    if (i >= 0)
      throw new SidecarError(
        kind === "input" ? "NON_FINITE_INPUT" : "NON_FINITE_OUTPUT",
        kind === "input"
          ? `input "${name}" holds a non-finite number (NaN or infinity) at element ${i} after preprocessing; a corrupt image or value cannot be assessed`
          : `the model produced a non-finite number (NaN or infinity) in output "${name}" at element ${i}; no decision is given`,
      );
  }
}
