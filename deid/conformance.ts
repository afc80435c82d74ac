/**
 * The attributes PS3.15 E.1.1 asks a de-identifier to add: Patient Identity Removed, De-identification Method
 * and its Code Sequence (CID 7050 codes of the profile and each option applied), and Longitudinal Temporal
 * Information Modified.
 */
import { type Element, TAG } from "./dicom/element.ts";
import type { DeidOptionName } from "./types.ts";
import { encode } from "./values.ts";

/** CID 7050 "De-identification Method" (PS3.16), coding scheme DCM. */
export const CID_7050: Record<"Basic" | DeidOptionName, { code: string; meaning: string }> = {
  Basic: { code: "113100", meaning: "Basic Application Confidentiality Profile" },
  CleanPixelData: { code: "113101", meaning: "Clean Pixel Data Option" },
  CleanRecognizableVisualFeatures: { code: "113102", meaning: "Clean Recognizable Visual Features Option" },
  CleanGraphics: { code: "113103", meaning: "Clean Graphics Option" },
  CleanStructuredContent: { code: "113104", meaning: "Clean Structured Content Option" },
  CleanDescriptors: { code: "113105", meaning: "Clean Descriptors Option" },
  RetainLongitudinalTemporalInformationFullDates: {
    code: "113106",
    meaning: "Retain Longitudinal Temporal Information Full Dates Option",
  },
  RetainLongitudinalTemporalInformationModifiedDates: {
    code: "113107",
    meaning: "Retain Longitudinal Temporal Information Modified Dates Option",
  },
  RetainPatientCharacteristics: { code: "113108", meaning: "Retain Patient Characteristics Option" },
  RetainDeviceIdentity: { code: "113109", meaning: "Retain Device Identity Option" },
  RetainUIDs: { code: "113110", meaning: "Retain UIDs Option" },
  RetainSafePrivate: { code: "113111", meaning: "Retain Safe Private Option" },
  RetainInstitutionIdentity: { code: "113112", meaning: "Retain Institution Identity Option" },
};

export const TOOL_NAME = "MedMLOps deid PS3.15 2024b";

function el(tag: number, vr: string, value: string): Element {
  return { tag, vr, value: encode(value, vr) };
}

/** Elements to add at the top level (replacing any present). `options` in the order they were applied. */
export function conformanceElements(
  options: readonly DeidOptionName[],
  keyVersion: string,
  extraMethod?: string,
): Element[] {
  const codes = (["Basic", ...options] as const).map((name) => {
    const c = CID_7050[name];
    return [
      el(TAG.CodeValue, "SH", c.code),
      el(TAG.CodingSchemeDesignator, "SH", "DCM"),
      el(TAG.CodeMeaning, "LO", c.meaning),
    ];
  });
  const dates = options.includes("RetainLongitudinalTemporalInformationFullDates")
    ? "UNMODIFIED"
    : options.includes("RetainLongitudinalTemporalInformationModifiedDates")
      ? "MODIFIED"
      : "REMOVED";
  return [
    el(TAG.PatientIdentityRemoved, "CS", "YES"),
    // LO is limited to 64 characters per value; two values: the tool/profile and the key version.
    el(
      TAG.DeidentificationMethod,
      "LO",
      [TOOL_NAME, `key ${keyVersion}`, ...(extraMethod ? [extraMethod] : [])]
        .map((v) => v.slice(0, 64))
        .join("\\"),
    ),
    { tag: TAG.DeidentificationMethodCodeSequence, vr: "SQ", value: new Uint8Array(0), items: codes },
    el(TAG.LongitudinalTemporalInformationModified, "CS", dates),
  ];
}

export const CONFORMANCE_TAGS = new Set<number>([
  TAG.PatientIdentityRemoved,
  TAG.DeidentificationMethod,
  TAG.DeidentificationMethodCodeSequence,
  TAG.LongitudinalTemporalInformationModified,
]);
