import type { QuarantineCode } from "../types.ts";

/** Thrown anywhere in the engine; becomes a quarantine outcome. The message must never contain values. */
export class DeidError extends Error {
  constructor(
    readonly code: QuarantineCode,
    message: string,
  ) {
    super(message);
  }
}
