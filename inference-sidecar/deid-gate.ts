/**
 * The MedModel's `deid.mode` at the sidecar. DataToModel: every DICOM instance is de-identified with the deid
 * library before anything reads it (decoding, case id, keeping), fail-closed — an instance the library
 * quarantines is refused with 422 and never kept. ModelToData: data stays in the hospital, instances are used
 * as received. Kept cases (`--keep-dir`, for the monitor's sampling) are written only after this gate.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deidentifyChecked } from "../deid/burned-in/index.ts";
import type { DeidKey, DeidOptionName } from "../deid/index.ts";
import type { Detector } from "../deid/burned-in/check.ts";
import { detectText } from "../deid/burned-in/detector.ts";
import { type CheckLimit, checkLimit } from "./check-limit.ts";
import { SidecarError } from "./errors.ts";

export type DeidMode = "DataToModel" | "ModelToData";

/** What the burned-in text check did, for /metrics (counts only, no labels from the request). */
export type CheckEvent = "frame_checked" | "redacted" | "refused";

export interface PassContext {
  /**
   * DataToModel: when given and the first instance had a Patient ID, `seen.patient` receives its keyed pseudonym
   * (for the monitor's record; never logged).
   */
  seen?: { patient?: string };
  count?: (event: CheckEvent) => void;
  /**
   * The request gave up (timed out): leave the check queue at once, and stop a running check at the next frame —
   * the frame the detector is running finishes (onnxruntime cannot be interrupted), then the slot is freed.
   */
  signal?: AbortSignal;
}

export interface DeidGate {
  mode: DeidMode;
  /** Returns the instances every later step may see. */
  pass(instances: Uint8Array[], ctx?: PassContext): Promise<Uint8Array[]>;
}

export interface GateOptions {
  options?: DeidOptionName[];
  /** Bound on concurrent text checks (check-limit.ts defaults). */
  limit?: CheckLimit;
  /** The text detector (PP-OCRv4 on onnxruntime-node); injectable for tests. */
  detector?: Detector;
}

/**
 * DataToModel runs the CLI's path (deidentifyChecked): manufacturer masks first, then the text detector on
 * every image that may carry burned-in text — released when none is found, redacted and re-checked when some
 * is, refused (422 DEID_FAILED, the library's stable code in the message) when the check cannot decide.
 * The check waits for a slot of `limit`; a full queue answers 503 DEID_BUSY at once. An aborted `ctx.signal`
 * rejects with its reason and frees the slot (or the place in the queue) as soon as no detector run is under way.
 */
export function deidGate(mode: DeidMode, key?: DeidKey, gate: GateOptions = {}): DeidGate {
  if (mode === "ModelToData") return { mode, pass: async (xs) => xs };
  if (!key)
    throw new Error(
      "DataToModel needs a de-identification key (MEDMLOPS_DEID_KEY, MEDMLOPS_DEID_KEY_FILE or the mounted Secret)",
    );
  const options = gate.options ?? [];
  const limit = gate.limit ?? checkLimit();
  const detect = gate.detector ?? detectText;
  return {
    mode,
    async pass(instances, ctx = {}) {
      const { signal } = ctx;
      const slot = limit.acquire(signal);
      if (slot === "full")
        throw new SidecarError(
          "DEID_BUSY",
          `${limit.waiting} requests already wait for the burned-in text check; retry later`,
        );
      const release = await slot;
      try {
        signal?.throwIfAborted();
        const detector: Detector = (lum, w, h) => {
          signal?.throwIfAborted();
          ctx.count?.("frame_checked");
          return detect(lum, w, h);
        };
        const out: Uint8Array[] = [];
        for (const [i, bytes] of instances.entries()) {
          const r = await deidentifyChecked(bytes, { key, options }, detector);
          // Given up meanwhile: not a refusal of the image (the library saw the abort as a failed check).
          signal?.throwIfAborted();
          // The library's reasons hold no values from the file (tags, syntaxes, counts only).
          if (!r.ok) {
            if (r.code === "BURNED_IN_ANNOTATION") ctx.count?.("refused");
            throw new SidecarError(
              "DEID_FAILED",
              `instance ${i + 1} could not be de-identified (${r.code}): ${r.reason.slice(0, 200)}`,
            );
          }
          if (r.warnings.some((w) => /redacted/.test(w))) ctx.count?.("redacted");
          if (ctx.seen && i === 0 && r.pseudonyms.patientFromId) ctx.seen.patient = r.pseudonyms.patient;
          out.push(r.output);
        }
        return out;
      } finally {
        release();
      }
    },
  };
}

/** Writes the (gated) instances of a case under `dir/<caseId>/<requestId>-<n>.dcm`. */
export async function keepCase(
  dir: string,
  caseId: string,
  requestId: string,
  instances: Uint8Array[],
): Promise<void> {
  const folder = join(dir, caseId.replace(/[^0-9a-f]/g, "").slice(0, 64) || "unknown");
  await mkdir(folder, { recursive: true });
  await Promise.all(
    instances.map((bytes, i) =>
      writeFile(join(folder, `${requestId.replace(/[^A-Za-z0-9-]/g, "")}-${i + 1}.dcm`), bytes),
    ),
  );
}
