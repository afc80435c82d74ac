/**
 * The MedModel's `deid.mode` at the sidecar. DataToModel: every DICOM instance is de-identified with the deid
 * library before anything reads it (decoding, case id, keeping), fail-closed — an instance the library
 * quarantines is refused with 422 and never kept. ModelToData: data stays in the hospital, instances are used
 * as received. Kept cases (`--keep-dir`, for the monitor's sampling) are written only after this gate.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DeidKey, type DeidOptionName, deidentify } from "../deid/index.ts";
import { SidecarError } from "./errors.ts";

export type DeidMode = "DataToModel" | "ModelToData";

export interface DeidGate {
  mode: DeidMode;
  /**
   * Returns the instances every later step may see. DataToModel: when `seen` is given and the first instance
   * had a Patient ID, `seen.patient` receives its keyed pseudonym (for the monitor's record; never logged).
   */
  pass(instances: Uint8Array[], seen?: { patient?: string }): Uint8Array[];
}

export function deidGate(mode: DeidMode, key?: DeidKey, options: DeidOptionName[] = []): DeidGate {
  if (mode === "ModelToData") return { mode, pass: (xs) => xs };
  if (!key)
    throw new Error(
      "DataToModel needs a de-identification key (MEDMLOPS_DEID_KEY, MEDMLOPS_DEID_KEY_FILE or the mounted Secret)",
    );
  return {
    mode,
    pass(instances, seen) {
      return instances.map((bytes, i) => {
        const r = deidentify(bytes, { key, options });
        // The library's reasons hold no values from the file (tags, syntaxes, counts only).
        if (!r.ok)
          throw new SidecarError(
            "DEID_FAILED",
            `instance ${i + 1} could not be de-identified (${r.code}): ${r.reason.slice(0, 200)}`,
          );
        if (seen && i === 0 && r.pseudonyms.patientFromId) seen.patient = r.pseudonyms.patient;
        return r.output;
      });
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
