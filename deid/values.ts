/** Reading and writing element values as strings, byte-preserving (latin1 maps each byte to one char). */
import type { Element } from "./dicom/element.ts";
import { BINARY_SIZE } from "./dicom/vr.ts";

export function rawString(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
}

/** The value without DICOM padding (trailing spaces / NULs) and leading spaces. */
export function str(e: Element | undefined): string {
  if (!e) return "";
  return rawString(e.value)
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
}

/** Encodes a string value, padded to even length (UI with NUL, others with a space). */
export function encode(s: string, vr: string): Uint8Array {
  const padded = s.length % 2 === 1 ? s + (vr === "UI" ? "\0" : " ") : s;
  return new Uint8Array(Buffer.from(padded, "latin1"));
}

/** Upper-cases ASCII letters only, so byte offsets stay aligned with the original bytes. */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** Dummy values per VR (PS3.15 "D"): fixed, meaningless, valid for the VR. */
export function dummyValue(vr: string): Uint8Array {
  switch (vr) {
    case "AE":
    case "PN":
      return encode("ANONYMOUS", vr);
    case "AS":
      return encode("000Y", vr);
    case "CS":
    case "LO":
    case "SH":
    case "ST":
    case "LT":
    case "UT":
    case "UC":
      return encode("ANONYMIZED", vr);
    case "DA":
      return encode("19000101", vr);
    case "DT":
      return encode("19000101000000", vr);
    case "TM":
      return encode("000000", vr);
    case "DS":
    case "IS":
      return encode("0", vr);
    default: {
      const size = BINARY_SIZE[vr];
      return new Uint8Array(size ?? 0);
    }
  }
}
