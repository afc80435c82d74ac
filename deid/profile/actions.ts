/**
 * Turns PS3.15 Table E.1-1 plus the chosen options into one action per data element.
 *
 * Combined codes (X/Z, X/D, Z/D, X/Z/D): the table says "the weaker unless the IOD Type needs the stronger". We
 * never know the Type (it depends on the IOD and module of each SOP class), so we take the member that is valid
 * whatever the Type is: D if it is offered (a dummy satisfies Type 1, 2 and 3), otherwise Z (satisfies Type 2 and
 * 3). None of X, Z or D leaks the original value, so this choice only affects conformance, never privacy.
 * X/Z/U* (Referenced Image / Source Image Sequence) → U: the sequence is kept and every UID inside is remapped,
 * which keeps references between de-identified instances intact.
 *
 * Several options on one row: C (clean) wins over K (keep) — the more protective of the two.
 *
 * Attributes the table does not list (see docs/deid.md "Attributes not in the table"):
 *   - group lengths (gggg,0000): removed (lengths are recomputed; group lengths are retired in data sets);
 *   - standard tags unknown to the data dictionary, unlisted attributes of the Patient group (0010) and of the
 *     command group (0000), and the Encrypted Attributes Sequence (0400,0500): removed;
 *   - VR PN: removed — a person name is identifying by definition;
 *   - free text (LT, ST, UT, UC): removed, or cleaned with CleanDescriptors / CleanStructuredContent / CleanGraphics;
 *   - DA, DT, TM: like the table's date rows (removed; kept with Full Dates; shifted with Modified Dates);
 *   - UI: remapped unless it names a class/context/coding scheme (SOP Class, Transfer Syntax, …) or is a
 *     well-known DICOM UID (1.2.840.10008.…); kept with RetainUIDs;
 *   - LO, SH: kept but cleaned (known identifiers of the same file are scrubbed from them);
 *   - sequences: kept and recursed into; everything else (codes, numbers, binary): kept.
 */
import { dictionaryVr } from "../dicom/vr.ts";
import type { DeidOptionName } from "../types.ts";
import { TABLE_E1_1 } from "./generated/table-e1-1.ts";
import type { BasicAction, OptionColumn, ProfileRow } from "./row.ts";

/** X remove · Z zero-length · D dummy · K keep · C clean · U new UID. */
export type Action = "X" | "Z" | "D" | "K" | "C" | "U";

export const OPTION_COLUMN: Record<OptionColumn, DeidOptionName> = {
  rtnSafePrivOpt: "RetainSafePrivate",
  rtnUIDsOpt: "RetainUIDs",
  rtnDevIdOpt: "RetainDeviceIdentity",
  rtnInstIdOpt: "RetainInstitutionIdentity",
  rtnPatCharsOpt: "RetainPatientCharacteristics",
  rtnLongFullDatesOpt: "RetainLongitudinalTemporalInformationFullDates",
  rtnLongModifDatesOpt: "RetainLongitudinalTemporalInformationModifiedDates",
  cleanDescOpt: "CleanDescriptors",
  cleanStructContOpt: "CleanStructuredContent",
  cleanGraphOpt: "CleanGraphics",
};

export function resolveCombined(code: BasicAction): Action {
  switch (code) {
    case "X/D":
    case "X/Z/D":
    case "Z/D":
      return "D";
    case "X/Z":
      return "Z";
    case "X/Z/U*":
      return "U";
    default:
      return code;
  }
}

const EXACT = new Map<number, ProfileRow>();
let CURVE_ROW: ProfileRow | undefined;
const OVERLAY_ROWS = new Map<number, ProfileRow>();
let PRIVATE_ROW: ProfileRow | undefined;
for (const row of TABLE_E1_1) {
  if (row.tag === "odd") PRIVATE_ROW = row;
  else if (row.tag === "50xxxxxx") CURVE_ROW = row;
  else if (row.tag.startsWith("60xx")) OVERLAY_ROWS.set(Number.parseInt(row.tag.slice(4), 16), row);
  else EXACT.set(Number.parseInt(row.tag, 16) >>> 0, row);
}

/** The table row governing a standard tag, including the repeating groups 50xx (curves) and 60xx (overlays). */
export function rowFor(tag: number): ProfileRow | undefined {
  const exact = EXACT.get(tag);
  if (exact) return exact;
  const group = tag >>> 16;
  if (group % 2 === 0 && group >= 0x5000 && group <= 0x501e) return CURVE_ROW;
  if (group % 2 === 0 && group >= 0x6000 && group <= 0x601e) return OVERLAY_ROWS.get(tag & 0xffff);
  return undefined;
}

export function privateRow(): ProfileRow {
  if (!PRIVATE_ROW) throw new Error("generated table lacks the private attributes row");
  return PRIVATE_ROW;
}

/** UI attributes naming classes, syntaxes and coding schemes: never remapped (they identify no one). */
export const CLASS_UID_TAGS = new Set<number>([
  0x00020002, // Media Storage SOP Class UID
  0x00020010, // Transfer Syntax UID
  0x00020012, // Implementation Class UID
  0x00041510, // Referenced SOP Class UID in File
  0x00041512, // Referenced Transfer Syntax UID in File
  0x00080016, // SOP Class UID
  0x0008001a, // Related General SOP Class UID
  0x0008001b, // Original Specialized Equivalent SOP Class UID
  0x00080062, // SOP Classes in Study
  0x0008010c, // Coding Scheme UID
  0x00080117, // Context UID
  0x00080118, // Mapping Resource UID
  0x00081150, // Referenced SOP Class UID
  0x0008115a, // SOP Classes Supported
]);

const PATIENT_GROUP = 0x0010;

export interface ActionContext {
  options: ReadonlySet<DeidOptionName>;
}

/** The action for a standard (even-group) element; `vr` is the encoded or dictionary VR. */
export function standardAction(tag: number, vr: string, ctx: ActionContext): Action {
  const row = rowFor(tag);
  if (row) return tableAction(row, ctx);
  return unlistedAction(tag, vr, ctx);
}

export function tableAction(row: ProfileRow, ctx: ActionContext): Action {
  let chosen: Action | undefined;
  for (const [column, value] of Object.entries(row.options) as [OptionColumn, "K" | "C"][]) {
    if (!ctx.options.has(OPTION_COLUMN[column])) continue;
    if (value === "C" || chosen === undefined) chosen = value;
  }
  return chosen ?? resolveCombined(row.basic);
}

const DATE_VRS = new Set(["DA", "DT", "TM"]);

export function unlistedAction(tag: number, _encodedVr: string, ctx: ActionContext): Action {
  const element = tag & 0xffff;
  if (element === 0) return "X";
  const known = dictionaryVr(tag);
  if (known === undefined) return "X";
  // Decisions follow the data dictionary (explicit VRs that contradict it are quarantined on read).
  const effective = known;
  // Unlisted Patient-group attributes, and command-group (0000) elements that have no place in a stored file.
  if (tag >>> 16 === PATIENT_GROUP || tag >>> 16 === 0x0000) return "X";
  // Encrypted Attributes Sequence: an earlier de-identifier's encrypted copy of the original identity.
  if (tag === 0x04000500) return "X";
  if (effective === "SQ") return "K";
  if (effective === "PN") return "X";
  if (effective === "LT" || effective === "ST" || effective === "UT" || effective === "UC") {
    const clean =
      ctx.options.has("CleanDescriptors") ||
      ctx.options.has("CleanStructuredContent") ||
      ctx.options.has("CleanGraphics");
    return clean ? "C" : "X";
  }
  if (DATE_VRS.has(effective)) {
    if (ctx.options.has("RetainLongitudinalTemporalInformationFullDates")) return "K";
    if (ctx.options.has("RetainLongitudinalTemporalInformationModifiedDates")) return "C";
    return "X";
  }
  if (effective === "UI") {
    if (CLASS_UID_TAGS.has(tag) || ctx.options.has("RetainUIDs")) return "K";
    return "U";
  }
  if (effective === "LO" || effective === "SH") return "C";
  return "K";
}

/**
 * Retain Safe Private: private elements known to carry no identity (PS3.15 E.3.10 gives the idea and examples;
 * this is our deliberately short list). Keyed by private creator, group and element low byte.
 */
export const SAFE_PRIVATE: ReadonlyArray<{ creator: string; group: number; element: number; name: string }> =
  [
    { creator: "SIEMENS MR HEADER", group: 0x0019, element: 0x0c, name: "B_value" },
    { creator: "SIEMENS MR HEADER", group: 0x0019, element: 0x0d, name: "DiffusionDirectionality" },
    { creator: "SIEMENS MR HEADER", group: 0x0019, element: 0x0e, name: "DiffusionGradientDirection" },
    { creator: "SIEMENS MR HEADER", group: 0x0019, element: 0x27, name: "B_matrix" },
    { creator: "GEMS_PARM_01", group: 0x0043, element: 0x39, name: "Slop_int_6...slop_int_9 (b-value)" },
    { creator: "Philips Imaging DD 001", group: 0x2001, element: 0x03, name: "Diffusion B-Factor" },
  ];

export function isSafePrivate(creator: string, group: number, lowByte: number): boolean {
  return SAFE_PRIVATE.some((s) => s.creator === creator && s.group === group && s.element === lowByte);
}
