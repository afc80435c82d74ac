/**
 * The non-PHI DICOM header fields a monitor record may carry: acquisition descriptors (modality, scanner make and
 * model, technique), none of them in PS3.15 Table E.1-1, and exactly the keywords the monitor accepts (the type
 * below is checked against the monitor's ALLOWED_METADATA). Strings are trimmed, stripped of control characters
 * and cut to 64 characters; numbers are the first value of a DS/IS or a US. PatientID is read only to derive a
 * keyed pseudonym and never leaves this process.
 */
import type * as dicomParserNs from "dicom-parser";
import type { ALLOWED_METADATA } from "../../monitor/client.ts";

type Keyword = (typeof ALLOWED_METADATA)[number];
type Kind = "string" | "number" | "us";

const FIELDS: readonly [Keyword, string, Kind][] = [
  ["Modality", "x00080060", "string"],
  ["Manufacturer", "x00080070", "string"],
  ["ManufacturerModelName", "x00081090", "string"],
  ["BodyPartExamined", "x00180015", "string"],
  ["ViewPosition", "x00185101", "string"],
  ["ConvolutionKernel", "x00181210", "string"],
  ["PhotometricInterpretation", "x00280004", "string"],
  ["KVP", "x00180060", "number"],
  ["SliceThickness", "x00180050", "number"],
  ["SpacingBetweenSlices", "x00180088", "number"],
  ["MagneticFieldStrength", "x00180087", "number"],
  ["XRayTubeCurrent", "x00181151", "number"],
  ["Exposure", "x00181152", "number"],
  ["ExposureTime", "x00181150", "number"],
  ["Rows", "x00280010", "us"],
  ["Columns", "x00280011", "us"],
  ["BitsStored", "x00280101", "us"],
  ["PixelRepresentation", "x00280103", "us"],
  ["SamplesPerPixel", "x00280002", "us"],
];

const MAX_STRING = 64;

function clean(s: string): string {
  // Control characters (NUL padding included) out, multi-valued strings keep their backslash separators.
  return s
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, MAX_STRING);
}

export function monitorMetadata(ds: dicomParserNs.DataSet): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [keyword, tag, kind] of FIELDS) {
    if (!ds.elements[tag]) continue;
    if (kind === "us") {
      const v = ds.uint16(tag);
      if (v !== undefined) out[keyword] = v;
      continue;
    }
    const raw = ds.string(tag);
    if (raw === undefined) continue;
    if (kind === "number") {
      const v = Number.parseFloat(raw.split("\\")[0] ?? "");
      if (Number.isFinite(v)) out[keyword] = v;
    } else {
      const v = clean(raw);
      if (v !== "") out[keyword] = v;
    }
  }
  return out;
}

/** The Patient ID (0010,0020), or undefined when absent or empty. For pseudonymisation only. */
export function patientIdOf(ds: dicomParserNs.DataSet): string | undefined {
  const v = ds.string("x00100020")?.replace(/\0/g, "").trim();
  return v ? v : undefined;
}
