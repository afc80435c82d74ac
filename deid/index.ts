/**
 * De-identification of DICOM instances: PS3.15 Basic Application Level Confidentiality Profile with its options,
 * keyed pseudonyms and fail-closed quarantine. This is the room's only door; see docs/deid.md.
 *
 *   const key = loadKey();                       // file, env var or mounted Secret
 *   const r = deidentify(bytes, { key, options: ["CleanDescriptors"] });
 *   if (r.ok) use(r.output, r.pseudonyms); else quarantine(r.code, r.reason);   // reason holds no PHI
 */
export { deidentify } from "./engine.ts";
export { fingerprint, KeyError, keyFromSecret, loadKey, type KeySource } from "./key.ts";
export { patientPseudonym, remapUid } from "./pseudonym.ts";
export {
  DEID_OPTION_NAMES,
  type DeidKey,
  type DeidOptionName,
  type DeidOptions,
  type DeidOutcome,
  type DeidPseudonyms,
  type MaskRectangle,
  type PixelMask,
  type QuarantineCode,
} from "./types.ts";
export { type Leak, type VerifyResult, verifyBuffers, verifyFiles } from "./verify.ts";
