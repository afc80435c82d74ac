/**
 * Test helpers: build synthetic DICOM instances from a compact description, and read outputs back with dcmjs
 * (an independent parser) so tests do not only trust our own reader.
 */
import { createRequire } from "node:module";
import type { Element, TransferSyntax } from "../dicom/element.ts";
import { TAG, transferSyntax } from "../dicom/element.ts";
import { writePart10 } from "../dicom/writer.ts";
import { keyFromSecret } from "../key.ts";
import type { DeidKey } from "../types.ts";
import { encode } from "../values.ts";

export const TEST_KEY: DeidKey = keyFromSecret("test-key-0123456789abcdef0123456789abcdef", "test-v1");
export const OTHER_KEY: DeidKey = keyFromSecret("another-key-0123456789abcdef0123456789abcdef", "test-v2");

export type Spec = [tag: number, vr: string, value: string | Uint8Array | Spec[][]];

export function el(tag: number, vr: string, value: string | Uint8Array | Spec[][]): Element {
  if (Array.isArray(value)) {
    const items = value.map((item) => item.map((s) => el(...s)).sort((a, b) => a.tag - b.tag));
    return { tag, vr: "SQ", value: new Uint8Array(0), items };
  }
  if (typeof value === "string") return { tag, vr, value: encode(value, vr) };
  return { tag, vr, value };
}

export const CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2";
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";
export const IMPLICIT_LE = "1.2.840.10008.1.2";
export const EXPLICIT_BE = "1.2.840.10008.1.2.2";
export const DEFLATED = "1.2.840.10008.1.2.1.99";

export function us(n: number, le = true): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, le);
  return b;
}

/** A small but realistic CT instance with identifiers planted in the usual places. */
export function baseSpecs(overrides: Partial<Record<string, string>> = {}): Spec[] {
  const v = (k: string, d: string) => overrides[k] ?? d;
  return [
    [TAG.SpecificCharacterSet, "CS", v("charset", "ISO_IR 100")],
    [0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"],
    [TAG.SOPClassUID, "UI", CT_IMAGE],
    [TAG.SOPInstanceUID, "UI", v("sop", "1.2.826.0.1.3680043.2.1125.1.100")],
    [TAG.StudyDate, "DA", v("studyDate", "20210315")],
    [0x00080030, "TM", "101500"],
    [TAG.AccessionNumber, "SH", v("accession", "ACC998877")],
    [TAG.Modality, "CS", v("modality", "CT")],
    [TAG.Manufacturer, "LO", "ACME MEDICAL"],
    [0x00080080, "LO", v("institution", "SAINT ELSEWHERE HOSPITAL")],
    [0x00080090, "PN", v("referrer", "HOUSE^GREGORY")],
    [0x00081030, "LO", v("studyDescription", "CT CHEST FOR SMITHSONIAN")],
    [0x0008103e, "LO", "AXIAL 5MM"],
    [TAG.ManufacturerModelName, "LO", "SCANMASTER 9000"],
    [TAG.PatientName, "PN", v("name", "SMITHSONIAN^JOHANNA")],
    [TAG.PatientID, "LO", v("patientId", "MRN4455667")],
    [TAG.PatientBirthDate, "DA", v("birthDate", "19610704")],
    [0x00100040, "CS", "F"],
    [0x00101010, "AS", "059Y"],
    [0x00181000, "LO", "SN-77-1234"],
    [TAG.StudyInstanceUID, "UI", v("study", "1.2.826.0.1.3680043.2.1125.1.1")],
    [TAG.SeriesInstanceUID, "UI", v("series", "1.2.826.0.1.3680043.2.1125.1.2")],
    [TAG.StudyID, "SH", "STUDY42"],
    [0x00200052, "UI", "1.2.826.0.1.3680043.2.1125.1.3"],
    [0x00204000, "LT", "Patient SMITHSONIAN seen by Dr HOUSE"],
    [TAG.SamplesPerPixel, "US", us(1)],
    [0x00280004, "CS", "MONOCHROME2"],
    [TAG.Rows, "US", us(4)],
    [TAG.Columns, "US", us(4)],
    [TAG.BitsAllocated, "US", us(16)],
    [0x00280101, "US", us(12)],
    [0x00280102, "US", us(11)],
    [0x00280103, "US", us(0)],
    [TAG.PixelData, "OW", new Uint8Array(32).fill(7)],
  ];
}

/** Writes a Part 10 file from specs (sorted by tag) in the given transfer syntax. */
export function buildFile(specs: Spec[], tsUid = EXPLICIT_LE, extra: Element[] = []): Uint8Array {
  const ts = transferSyntax(tsUid) as TransferSyntax;
  const ds = [...specs.map((s) => el(...s)), ...extra].sort((a, b) => a.tag - b.tag);
  if (!ts.littleEndian) {
    // Binary test values are written little endian above; swap US values for big endian.
    for (const e of ds)
      if (e.vr === "US" && e.value.length === 2) e.value = new Uint8Array([e.value[1] ?? 0, e.value[0] ?? 0]);
  }
  const sop = ds.find((e) => e.tag === TAG.SOPInstanceUID)?.value ?? new Uint8Array(0);
  const cls = ds.find((e) => e.tag === TAG.SOPClassUID)?.value ?? new Uint8Array(0);
  const meta: Element[] = [
    { tag: TAG.FileMetaVersion, vr: "OB", value: new Uint8Array([0, 1]) },
    { tag: TAG.MediaStorageSOPClassUID, vr: "UI", value: cls },
    { tag: TAG.MediaStorageSOPInstanceUID, vr: "UI", value: sop },
    { tag: TAG.TransferSyntaxUID, vr: "UI", value: encode(tsUid, "UI") },
    { tag: TAG.ImplementationClassUID, vr: "UI", value: encode("1.2.3.4", "UI") },
  ];
  return writePart10(meta, ds, ts, 4096);
}

interface DcmjsModule {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: object): { dict: object; meta: object } };
    DicomMetaDictionary: { naturalizeDataset(dict: object): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)("dcmjs") as DcmjsModule;

/** Reads a Part 10 file with dcmjs and returns the naturalized data set (keyword → value) and meta. */
export function readWithDcmjs(bytes: Uint8Array): {
  ds: Record<string, unknown>;
  meta: Record<string, unknown>;
} {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab, { ignoreErrors: true });
  return {
    ds: dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict),
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.meta),
  };
}

/** True when `needle` (ASCII, case-insensitive) occurs anywhere in the bytes. */
export function containsText(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack).toString("latin1").toUpperCase().includes(needle.toUpperCase());
}
