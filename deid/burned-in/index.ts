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
  if (first.ok && first.maskedSuspect) return checkAfterMask(input, options, first, detector);
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

/**
 * Masks first, detection after them: a suspect image a manufacturer mask matched is checked again on its masked
 * pixels (the de-identified output, same encoding as the input — masks only apply to native pixel data).
 * Nothing found → released as masked; text the mask left → redacted on top of the mask and re-checked; the check
 * unsure → quarantined.
 */
async function checkAfterMask(
  input: Uint8Array,
  options: DeidOptions,
  masked: Extract<DeidOutcome, { ok: true }>,
  detector: Detector,
): Promise<DeidOutcome> {
  let verdict: Awaited<ReturnType<typeof checkPixels>>;
  try {
    verdict = await checkPixels(masked.output, detector);
  } catch (err) {
    verdict = { kind: "refused", reason: `text check failed (${err instanceof Error ? err.name : "error"})` };
  }
  if (verdict.kind === "refused")
    return {
      ok: false,
      code: "BURNED_IN_ANNOTATION",
      reason: `manufacturer mask applied; text check after it: ${verdict.reason}`,
    };
  if (verdict.kind === "no-text") {
    const { maskedSuspect: _, ...rest } = masked;
    return { ...rest, warnings: [...masked.warnings, "burned-in text check after the mask: no text found"] };
  }
  return deidentify(input, {
    ...options,
    pixelCheck: { kind: "redacted", pixelData: verdict.pixelData, afterMask: true },
  });
}
