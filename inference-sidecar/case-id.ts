/**
 * Pseudonymous case ids: HMAC-SHA256 of the StudyInstanceUID under a site key, so answers can be joined
 * with later ground truth without ever carrying a patient or study identifier.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

export interface CaseIdKey {
  key: Buffer;
  /** False when no key was configured and a per-process key was generated (ids only stable until restart). */
  persistent: boolean;
}

/**
 * Key from MEDMLOPS_CASE_ID_KEY_FILE (a mounted Secret) or MEDMLOPS_CASE_ID_KEY; else a random one. Null when
 * the file is named but absent (the pod's optional Secret does not exist): the sidecar then serves without case
 * ids instead of crash-looping — case ids only join answers with later ground truth, the answer does not need
 * them.
 */
export function caseIdKeyFromEnv(env: NodeJS.ProcessEnv = process.env): CaseIdKey | null {
  const file = env.MEDMLOPS_CASE_ID_KEY_FILE;
  if (file) {
    let key: Buffer;
    try {
      key = readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    if (key.length < 16)
      throw new Error(`case id key in MEDMLOPS_CASE_ID_KEY_FILE is ${key.length} bytes; need at least 16`);
    return { key, persistent: true };
  }
  const value = env.MEDMLOPS_CASE_ID_KEY;
  if (value) {
    if (value.length < 16) throw new Error("MEDMLOPS_CASE_ID_KEY must be at least 16 characters");
    return { key: Buffer.from(value, "utf8"), persistent: true };
  }
  return { key: randomBytes(32), persistent: false };
}

export function caseId(k: CaseIdKey, studyInstanceUid: string): string {
  return createHmac("sha256", k.key).update(studyInstanceUid.trim()).digest("hex").slice(0, 32);
}
