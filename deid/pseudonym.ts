/**
 * Keyed pseudonyms: everything derives from HMAC-SHA256 with the per-hospital key, so the same key gives the
 * same pseudonyms across files, runs and machines (studies stay linked) and nobody without the key can
 * recompute or reverse them. Each use has its own domain label so that values never collide across uses.
 */
import { createHmac } from "node:crypto";
import type { DeidKey } from "./types.ts";

function hmac(key: DeidKey, message: string): Buffer {
  return createHmac("sha256", key.secret).update(message, "utf8").digest();
}

/**
 * `pn:` + 64 lowercase hex of HMAC-SHA256(key, Patient ID) — exactly the form ConsentRecord.subject.pseudonym
 * requires (crds/consentrecord.ts), so consent can be matched without ever storing the raw ID.
 */
export function patientPseudonym(key: DeidKey, patientId: string): string {
  return `pn:${hmac(key, patientId).toString("hex")}`;
}

/** Well-known DICOM UIDs (classes, transfer syntaxes, coding schemes, frames of reference…) are never remapped. */
export function isWellKnownUid(uid: string): boolean {
  return uid.startsWith("1.2.840.10008.");
}

/**
 * New UID for an original one: `2.25.` + the decimal of the first 128 bits of HMAC-SHA256(key, "uid\0" + uid)
 * (PS3.5 B.2: a UUID-derived integer, no leading zeros, at most 39 digits). Well-known UIDs pass unchanged.
 */
export function remapUid(key: DeidKey, uid: string): string {
  if (uid === "" || isWellKnownUid(uid)) return uid;
  const digest = hmac(key, `uid\0${uid}`);
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString("hex")}`).toString(10)}`;
}

/** A short keyed identifier for ID-like attributes: prefix + upper-case hex, at most `maxLength` characters. */
export function keyedId(
  key: DeidKey,
  domain: string,
  value: string,
  prefix: string,
  maxLength: number,
): string {
  return `${prefix}${hmac(key, `${domain}\0${value}`).toString("hex").toUpperCase()}`.slice(0, maxLength);
}

/** One date offset per patient, in days: between −3650 and −1 (always into the past, never zero). */
export function dateOffsetDays(key: DeidKey, patientBasis: string): number {
  return -(1 + (hmac(key, `date-offset\0${patientBasis}`).readUInt32BE(0) % 3650));
}
