/**
 * De-identification with the burned-in text check: an image the engine would quarantine as possibly carrying
 * burned-in text (BURNED_IN_ANNOTATION) is checked by the text detector instead of assumed — released when no
 * text is found, redacted and re-checked when text is found, quarantined as before when the check cannot decide.
 * Masks configured per manufacturer (Clean Pixel Data) still take precedence: an image they match is not checked.
 */
import { deidentify } from "../engine.ts";
import type { DeidOptions, DeidOutcome } from "../types.ts";
import { checkPixels, type Detector } from "./check.ts";
import { detectText } from "./detector.ts";

export async function deidentifyChecked(
  input: Uint8Array,
  options: DeidOptions,
  detector: Detector = detectText,
): Promise<DeidOutcome> {
  const first = deidentify(input, options);
  if (first.ok || first.code !== "BURNED_IN_ANNOTATION") return first;
  let verdict: Awaited<ReturnType<typeof checkPixels>>;
  try {
    verdict = await checkPixels(input, detector);
  } catch (err) {
    return {
      ...first,
      reason: `${first.reason}; text check failed (${err instanceof Error ? err.name : "error"})`,
    };
  }
  if (verdict.kind === "refused")
    return { ...first, reason: `${first.reason}; text check: ${verdict.reason}` };
  return deidentify(input, {
    ...options,
    pixelCheck:
      verdict.kind === "no-text"
        ? { kind: "no-text" }
        : { kind: "redacted", pixelData: verdict.pixelData, decoded: verdict.decoded },
  });
}
