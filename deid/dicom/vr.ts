/** Value Representations: which use a 4-byte length in explicit VR, which are text, and the VR dictionary. */
import { PACKED_VR_DICTIONARY } from "../profile/generated/vr-dictionary.ts";

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
export const LONG_VRS = new Set([
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "SQ",
  "UC",
  "UN",
  "UR",
  "UT",
  "SV",
  "UV",
]);

export const ALL_VRS = new Set([
  "AE",
  "AS",
  "AT",
  "CS",
  "DA",
  "DS",
  "DT",
  "FD",
  "FL",
  "IS",
  "LO",
  "LT",
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "PN",
  "SH",
  "SL",
  "SQ",
  "SS",
  "ST",
  "SV",
  "TM",
  "UC",
  "UI",
  "UL",
  "UN",
  "UR",
  "US",
  "UT",
  "UV",
]);

/** Character-string VRs (byte-order independent, padded with a space; UI with NUL). */
export const STRING_VRS = new Set([
  "AE",
  "AS",
  "CS",
  "DA",
  "DS",
  "DT",
  "IS",
  "LO",
  "LT",
  "PN",
  "SH",
  "ST",
  "TM",
  "UC",
  "UI",
  "UR",
  "UT",
]);

/** Free-text VRs whose content nobody can vouch for. */
export const FREE_TEXT_VRS = new Set(["LT", "ST", "UT", "UC"]);

/** Maximum value length in characters of the VRs we write replacement values into. */
export const MAX_LENGTH: Record<string, number> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  LO: 64,
  PN: 64,
  SH: 16,
  UI: 64,
};

/** Fixed binary element size per VR (for dummy values). */
export const BINARY_SIZE: Record<string, number> = {
  AT: 4,
  FD: 8,
  FL: 4,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
};

let dictionary: Map<number, string> | undefined;

function load(): Map<number, string> {
  const map = new Map<number, string>();
  for (let i = 0; i + 10 <= PACKED_VR_DICTIONARY.length; i += 10) {
    map.set(
      Number.parseInt(PACKED_VR_DICTIONARY.slice(i, i + 8), 16) >>> 0,
      PACKED_VR_DICTIONARY.slice(i + 8, i + 10),
    );
  }
  return map;
}

/** The dictionary VR of a standard tag, or undefined when unknown. Repeating groups 50xx/60xx map to 5000/6000. */
export function dictionaryVr(tag: number): string | undefined {
  dictionary ??= load();
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return "UL";
  if (group & 1) return element >= 0x10 && element <= 0xff ? "LO" : undefined;
  const direct = dictionary.get(tag);
  if (direct) return direct;
  if ((group & 0xff00) === 0x5000 || (group & 0xff00) === 0x6000) {
    return dictionary.get((((group & 0xff00) << 16) | element) >>> 0);
  }
  return undefined;
}

export function tagHex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, "0");
}

/** "(GGGG,EEEE)" — used in reasons and reports; tags are never PHI. */
export function tagString(tag: number): string {
  const h = tagHex(tag);
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}
