/**
 * The de-identification engine: reads the element tree, applies one action per element (recursing through every
 * sequence, private ones included), scrubs known identifiers out of kept text, adds the conformance attributes,
 * writes the file in its own transfer syntax, then re-reads its own output and scans it for any identifier of
 * the input before declaring success. Anything it cannot fully handle raises DeidError → quarantine.
 */
import { collectTokens, type Ctx, processDataset, scrubAll } from "./apply.ts";
import { checkCharacterSets, DEFAULT_CHARSET } from "./charset.ts";
import { CONFORMANCE_TAGS, conformanceElements } from "./conformance.ts";
import { type Element, find, TAG, type TransferSyntax } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import { readFile } from "./dicom/reader.ts";
import { dictionaryVr, tagString } from "./dicom/vr.ts";
import { wrapPart10, writeDataset } from "./dicom/writer.ts";
import { EXPLICIT_VR_LITTLE_ENDIAN, putDecodedPixels } from "./decoded-pixels.ts";
import { applyMask, burnedInSuspicion, findMask } from "./pixels.ts";
import { dateOffsetDays, patientPseudonym } from "./pseudonym.ts";
import { findResidue, tokensOf } from "./scan.ts";
import { DEID_OPTION_NAMES, type DeidOptionName, type DeidOptions, type DeidOutcome } from "./types.ts";
import { encode, str } from "./values.ts";

const IMPLEMENTATION_CLASS_UID = "2.25.86434577357463153580843547133425658107";
const IMPLEMENTATION_VERSION = "MEDMLOPS_DEID_1";
const FULL = "RetainLongitudinalTemporalInformationFullDates";
const MODIFIED = "RetainLongitudinalTemporalInformationModifiedDates";

/**
 * Not searched for identifiers: pixel data (compressed bytes; never altered except by masks) and the
 * conformance attributes we write ourselves (tool name, key version, CID 7050 meanings).
 */
const UNSCANNED_TAGS = new Set<number>([0x7fe00008, 0x7fe00009, TAG.PixelData, ...CONFORMANCE_TAGS]);

/**
 * VRs that legitimately stand in for each other: context-dependent dictionary VRs (US or SS, OB or OW — the
 * dictionary is generated with US / OW), and text VRs whose length class changed between editions of the
 * standard. PN, CS, UI, DA, DT, TM, AE and AS must match exactly: those are the VRs a corrupt tag would betray.
 */
const VR_FAMILIES = [
  new Set(["OB", "OW", "US", "SS"]),
  new Set(["UL", "SL"]),
  new Set(["LO", "SH", "LT", "ST", "UT", "UC"]),
  new Set(["DS", "IS"]),
];

/** Whether an explicit VR may legitimately appear for a tag whose dictionary VR is `dict`. */
function compatibleVr(encoded: string, dict: string): boolean {
  if (encoded === dict || encoded === "UN") return true;
  return VR_FAMILIES.some((f) => f.has(dict) && f.has(encoded));
}

/**
 * Explicit VR that contradicts the data dictionary means a corrupt tag or VR; since actions follow the tag,
 * a corrupt tag could disguise an identifier as a harmless attribute, so such files are quarantined.
 */
function checkVrs(ds: readonly Element[]): void {
  for (const e of ds) {
    if (e.items) {
      for (const item of e.items) checkVrs(item);
      continue;
    }
    const group = e.tag >>> 16;
    if (group % 2 === 1 || (e.tag & 0xffff) === 0) continue;
    const dict = dictionaryVr(e.tag);
    if (dict !== undefined && !compatibleVr(e.vr, dict)) {
      throw new DeidError(
        "MALFORMED",
        `VR ${e.vr} of ${tagString(e.tag)} contradicts the data dictionary (${dict})`,
      );
    }
  }
}

function validateOptions(options: readonly string[]): DeidOptionName[] {
  const out: DeidOptionName[] = [];
  for (const o of options) {
    if (!(DEID_OPTION_NAMES as readonly string[]).includes(o))
      throw new DeidError("INVALID_OPTIONS", `unknown option ${o}`);
    if (!out.includes(o as DeidOptionName)) out.push(o as DeidOptionName);
  }
  if (out.includes(FULL) && out.includes(MODIFIED)) {
    throw new DeidError("INVALID_OPTIONS", "Full Dates and Modified Dates options exclude each other");
  }
  return out;
}

function buildMeta(dataset: readonly Element[], ts: TransferSyntax): Element[] {
  const sopClass = str(find(dataset, TAG.SOPClassUID));
  const sopInstance = str(find(dataset, TAG.SOPInstanceUID));
  return [
    { tag: TAG.FileMetaVersion, vr: "OB", value: new Uint8Array([0, 1]) },
    { tag: TAG.MediaStorageSOPClassUID, vr: "UI", value: encode(sopClass, "UI") },
    { tag: TAG.MediaStorageSOPInstanceUID, vr: "UI", value: encode(sopInstance, "UI") },
    { tag: TAG.TransferSyntaxUID, vr: "UI", value: encode(ts.uid, "UI") },
    { tag: TAG.ImplementationClassUID, vr: "UI", value: encode(IMPLEMENTATION_CLASS_UID, "UI") },
    { tag: TAG.ImplementationVersionName, vr: "SH", value: encode(IMPLEMENTATION_VERSION, "SH") },
  ];
}

/**
 * What the pixel step did: nothing, a mask (on an image the burned-in rule suspects or not; or a mask plus the
 * text check's redaction after it), the text check's "no text", or its redaction — in the original encoding, or
 * of decoded (compressed or YBR) pixel data now written natively.
 */
type PixelOutcome =
  | "none"
  | "masked"
  | "masked-suspect"
  | "masked-redacted"
  | "checked-clean"
  | "redacted"
  | "redacted-decoded";

function handlePixels(
  dataset: Element[],
  options: DeidOptions,
  ctx: Ctx,
  source: TransferSyntax,
): PixelOutcome {
  const le = source.littleEndian;
  const suspicion = burnedInSuspicion(dataset, le);
  const wantsClean = ctx.options.has("CleanPixelData");
  const mask =
    wantsClean && find(dataset, TAG.PixelData) ? findMask(dataset, options.pixelMasks ?? [], le) : undefined;
  if (suspicion && !mask && options.pixelCheck) {
    if (options.pixelCheck.kind === "no-text") return "checked-clean";
    const { pixelData, decoded } = options.pixelCheck;
    if (decoded) {
      putDecodedPixels(dataset, pixelData, decoded, source);
      return "redacted-decoded";
    }
    const i = dataset.findIndex((e) => e.tag === TAG.PixelData);
    const px = dataset[i];
    if (!px || px.fragments || px.value.length !== pixelData.length)
      throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", "redacted pixel data does not fit this image");
    dataset[i] = { ...px, value: pixelData };
    return "redacted";
  }
  if (suspicion && !mask) {
    throw new DeidError(
      "BURNED_IN_ANNOTATION",
      `${suspicion}; ${wantsClean ? "no pixel mask matches this device and size" : "CleanPixelData option not enabled"}`,
    );
  }
  if (!mask) return "none";
  if (options.pixelCheck?.kind === "redacted" && options.pixelCheck.afterMask) {
    // The text check ran on the masked pixels and redacted what the mask left: its pixel data holds both.
    const i = dataset.findIndex((e) => e.tag === TAG.PixelData);
    const px = dataset[i];
    if (!px || px.fragments || px.value.length !== options.pixelCheck.pixelData.length)
      throw new DeidError("PIXEL_MASK_NOT_APPLICABLE", "redacted pixel data does not fit this image");
    dataset[i] = { ...px, value: options.pixelCheck.pixelData };
    return "masked-redacted";
  }
  const cleaned = applyMask(dataset, mask, le);
  const i = dataset.findIndex((e) => e.tag === TAG.PixelData);
  dataset[i] = cleaned;
  return suspicion ? "masked-suspect" : "masked";
}

/**
 * Every instance needs SOP Class and Instance UIDs. When the data set lacks one but the file meta holds it
 * (Media Storage SOP Class/Instance UID — the same identity by PS3.10), the meta's is inserted into the data set
 * (then remapped like any other); with neither, the file is quarantined. Returns the names of those taken.
 */
function sopUidsFromMeta(ds: Element[], meta: readonly Element[]): string[] {
  const taken: string[] = [];
  for (const [tag, metaTag, name] of [
    [TAG.SOPClassUID, TAG.MediaStorageSOPClassUID, "SOP Class UID"],
    [TAG.SOPInstanceUID, TAG.MediaStorageSOPInstanceUID, "SOP Instance UID"],
  ] as const) {
    if (str(find(ds, tag)) !== "") continue;
    const fromMeta = str(find(meta, metaTag)).replace(/\0/g, "");
    if (!/^[0-9]+(\.[0-9]+)*$/.test(fromMeta) || fromMeta.length > 64)
      throw new DeidError("MISSING_REQUIRED_UID", `${name} missing from the data set and the file meta`);
    const i = ds.findIndex((e) => e.tag === tag);
    const element: Element = { tag, vr: "UI", value: encode(fromMeta, "UI") };
    if (i >= 0) ds[i] = element;
    else ds.push(element);
    taken.push(name);
  }
  if (taken.length > 0) ds.sort((a, b) => a.tag - b.tag);
  return taken;
}

/** De-identifies one DICOM instance held in memory. Never throws: failures come back as quarantine outcomes. */
export function deidentify(input: Uint8Array, options: DeidOptions): DeidOutcome {
  try {
    return run(input, options);
  } catch (err) {
    if (err instanceof DeidError) return { ok: false, code: err.code, reason: err.message };
    // Unexpected errors can carry anything in their message: report only the class of error.
    return {
      ok: false,
      code: "INTERNAL_ERROR",
      reason: `unexpected ${err instanceof Error ? err.name : "error"}`,
    };
  }
}

function run(input: Uint8Array, options: DeidOptions): DeidOutcome {
  const opts = validateOptions(options.options ?? []);
  const parsed = readFile(input);
  const ds = parsed.dataset;
  const mediaClass = str(find(parsed.meta, TAG.MediaStorageSOPClassUID));
  if (mediaClass === "1.2.840.10008.1.3.10" || find(ds, 0x00041220)) {
    throw new DeidError(
      "UNSUPPORTED_OBJECT",
      "DICOMDIR (media directory) files are not de-identified; re-create them",
    );
  }
  const fromMeta = sopUidsFromMeta(ds, parsed.meta);
  checkCharacterSets(ds);
  if (parsed.ts.explicit) checkVrs(ds);

  const warnings = new Set<string>();
  if (fromMeta.length > 0)
    warnings.add(`${fromMeta.join(" and ")} missing from the data set: taken from the file meta`);
  if (parsed.framing !== "part10") warnings.add(`input had no standard file meta header (${parsed.framing})`);
  const rawPatientId = str(find(ds, TAG.PatientID));
  let basis = rawPatientId;
  if (basis === "") {
    warnings.add("Patient ID missing: pseudonym derived from other patient attributes");
    basis = `no-id\0${str(find(ds, TAG.PatientName))}\0${str(find(ds, TAG.PatientBirthDate))}\0${str(find(ds, TAG.StudyInstanceUID))}`;
  }
  const patient = patientPseudonym(options.key, basis);
  const ctx: Ctx = {
    options: new Set(opts),
    key: options.key,
    dayOffset: dateOffsetDays(options.key, basis),
    patientIdValue: patient.slice(0, 64),
    warnings,
    scrub: [],
    charset: DEFAULT_CHARSET,
    tokens: tokensOf(),
  };
  ctx.tokens.generated.add(ctx.patientIdValue);

  if (str(find(ds, TAG.RecognizableVisualFeatures)).toUpperCase() === "YES") {
    if (ctx.options.has("CleanRecognizableVisualFeatures")) {
      throw new DeidError(
        "RECOGNIZABLE_VISUAL_FEATURES",
        "image has recognizable visual features that cannot be removed automatically",
      );
    }
    warnings.add("image is flagged with recognizable visual features");
  }

  collectTokens(ds, ctx);
  const dataset = processDataset(ds, ctx, 0);
  scrubAll(ctx);
  const pixelStep = handlePixels(dataset, options, ctx, parsed.ts);
  // Decoded pixel data is written uncompressed: the instance leaves in Explicit VR Little Endian.
  const outTs = pixelStep === "redacted-decoded" ? EXPLICIT_VR_LITTLE_ENDIAN : parsed.ts;
  const pixels =
    pixelStep === "redacted-decoded" || pixelStep === "masked-redacted"
      ? "redacted"
      : pixelStep === "masked-suspect"
        ? "masked"
        : pixelStep;
  const masked = pixels === "masked" || pixels === "redacted";
  const applied = opts.filter((o) => o !== "CleanPixelData" || masked);
  if (pixels === "redacted" && !applied.includes("CleanPixelData")) applied.push("CleanPixelData");
  if (pixels === "checked-clean") warnings.add("burned-in text check: no text found");
  if (pixelStep === "redacted")
    warnings.add("burned-in text redacted; pixel data written uncompressed (native)");
  if (pixelStep === "masked-redacted")
    warnings.add("manufacturer mask applied; burned-in text the mask left was redacted");
  if (pixelStep === "redacted-decoded")
    warnings.add(
      `burned-in text redacted; pixel data decoded from ${parsed.ts.uid} and written uncompressed (Explicit VR Little Endian)`,
    );
  if (masked || pixels === "checked-clean") {
    const i = dataset.findIndex((e) => e.tag === TAG.BurnedInAnnotation);
    const no: Element = { tag: TAG.BurnedInAnnotation, vr: "CS", value: encode("NO", "CS") };
    if (i >= 0) dataset[i] = no;
    else dataset.push(no);
  }
  if (opts.includes("CleanPixelData") && !masked)
    warnings.add("CleanPixelData: no mask applied to this image");
  const method =
    pixels === "checked-clean"
      ? "text check: none found"
      : pixels === "redacted"
        ? "text check: redacted"
        : undefined;
  dataset.push(...conformanceElements(applied, options.key.version, method));
  dataset.sort((a, b) => a.tag - b.tag);

  const newSop = str(find(dataset, TAG.SOPInstanceUID));
  if (newSop === "" || str(find(dataset, TAG.SOPClassUID)) === "") {
    throw new DeidError("MISSING_REQUIRED_UID", "SOP UIDs lost during de-identification");
  }
  const meta = buildMeta(dataset, outTs);
  const body = writeDataset(dataset, outTs.explicit, outTs.littleEndian, parsed.datasetBytes + 4096);
  // Output sanity: de-identification removes and replaces; it never grows a file by much — except by the
  // decoded pixel data a redaction of compressed pixel data writes.
  const grownBy =
    pixelStep === "redacted-decoded" && options.pixelCheck?.kind === "redacted"
      ? options.pixelCheck.pixelData.length
      : 0;
  const limit = (parsed.datasetBytes + grownBy) * 1.25 + 65_536;
  if (body.length > limit)
    throw new DeidError(
      "OUTPUT_SANITY",
      `output data set ${body.length} bytes exceeds limit ${Math.round(limit)}`,
    );
  const output = wrapPart10(meta, body, outTs);

  // Fail closed: re-read what we wrote and search it for any identifier of the input.
  let reread: ReturnType<typeof readFile>;
  try {
    reread = readFile(output);
  } catch (err) {
    throw new DeidError(
      "OUTPUT_SANITY",
      `output does not re-read: ${err instanceof DeidError ? err.message : "error"}`,
    );
  }
  const residue = findResidue(reread.dataset, ctx.tokens, UNSCANNED_TAGS, DEFAULT_CHARSET);
  if (residue !== undefined) {
    throw new DeidError("RESIDUAL_IDENTIFIER", `an identifier of the input remains in ${tagString(residue)}`);
  }

  const pick = (tag: number) => {
    const v = str(find(dataset, tag));
    return v === "" ? undefined : v;
  };
  return {
    ok: true,
    output,
    pseudonyms: {
      patient,
      patientFromId: rawPatientId !== "",
      study: pick(TAG.StudyInstanceUID),
      series: pick(TAG.SeriesInstanceUID),
      sop: newSop,
    },
    warnings: [...warnings],
    ...(pixelStep === "masked-suspect" ? { maskedSuspect: true as const } : {}),
  };
}
