/**
 * The de-identification engine: reads the element tree, applies one action per element (recursing through every
 * sequence, private ones included), scrubs known identifiers out of kept text, adds the conformance attributes,
 * writes the file in its own transfer syntax, then re-reads its own output and scans it for any identifier of
 * the input before declaring success. Anything it cannot fully handle raises DeidError → quarantine.
 */
import { checkCharacterSets } from "./charset.ts";
import { CONFORMANCE_TAGS, conformanceElements } from "./conformance.ts";
import { shiftMulti } from "./dates.ts";
import { type Element, find, TAG, type TransferSyntax } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import { readFile } from "./dicom/reader.ts";
import { writeDataset, writePart10 } from "./dicom/writer.ts";
import { dictionaryVr, STRING_VRS, tagString } from "./dicom/vr.ts";
import { type Action, type ActionContext, isSafePrivate, standardAction } from "./profile/actions.ts";
import { applyMask, burnedInSuspicion, findMask } from "./pixels.ts";
import { dateOffsetDays, keyedId, patientPseudonym, remapUid } from "./pseudonym.ts";
import { findResidue, type Tokens, tokensOf } from "./scan.ts";
import { DEID_OPTION_NAMES, type DeidOptionName, type DeidOptions, type DeidOutcome } from "./types.ts";
import { asciiUpper, dummyValue, encode, rawString, str } from "./values.ts";

const EMPTY = new Uint8Array(0);
const IMPLEMENTATION_CLASS_UID = "2.25.86434577357463153580843547133425658107";
const IMPLEMENTATION_VERSION = "MEDMLOPS_DEID_1";

/** ID-like attributes that get a keyed pseudonym instead of a blank, so records stay linkable. */
const KEYED_IDS = new Map<number, { prefix: string; max: number; domain: string }>([
  [TAG.AccessionNumber, { prefix: "A", max: 16, domain: "accession" }],
  [TAG.StudyID, { prefix: "S", max: 16, domain: "study-id" }],
]);

/** Attributes whose original values are identifiers: scrubbed from kept text and searched for in the output. */
const IDENTIFIER_TAGS = new Set<number>([
  TAG.PatientID,
  0x00101000, // Other Patient IDs
  TAG.AccessionNumber,
  TAG.PatientBirthDate,
  0x00101040, // Patient's Address
  0x00102154, // Patient's Telephone Numbers
  0x00101090, // Medical Record Locator
  0x00100050, // Patient's Insurance Plan Code Sequence (SQ; harmless here)
  0x00400512, // Container Identifier
  0x00400551, // Specimen Identifier
  0x00120040, // Clinical Trial Subject ID
  0x00120042, // Clinical Trial Subject Reading ID
  0x00380010, // Admission ID
  0x00401001, // Requested Procedure ID
  0x00402016, // Placer Order Number / Imaging Service Request
  0x00402017, // Filler Order Number / Imaging Service Request
]);

/**
 * Not searched for identifiers: pixel data (compressed bytes; never altered except by masks) and the
 * conformance attributes we write ourselves (tool name, key version, CID 7050 meanings).
 */
const UNSCANNED_TAGS = new Set<number>([0x7fe00008, 0x7fe00009, TAG.PixelData, ...CONFORMANCE_TAGS]);

interface Ctx extends ActionContext {
  options: ReadonlySet<DeidOptionName>;
  key: DeidOptions["key"];
  dayOffset: number;
  patientIdValue: string;
  warnings: Set<string>;
  /** Kept text elements to scrub once all identifiers are known. */
  scrub: Element[];
  tokens: Tokens;
}

/** The VR decisions are made on: the data dictionary's for standard tags (checked compatible on read). */
function effectiveVr(e: Element): string {
  if ((e.tag >>> 16) % 2 === 1) return e.vr;
  return dictionaryVr(e.tag) ?? e.vr;
}

const BINARY_WORDS = new Set(["OB", "OW", "US", "SS"]);

/** Whether an explicit VR may legitimately appear for a tag whose dictionary VR is `dict`. */
function compatibleVr(encoded: string, dict: string): boolean {
  if (encoded === dict || encoded === "UN") return true;
  // Context-dependent dictionary VRs (US or SS, OB or OW) are generated as US / OW.
  return BINARY_WORDS.has(dict) && BINARY_WORDS.has(encoded);
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

function privateCreators(ds: readonly Element[]): Map<number, string> {
  const creators = new Map<number, string>();
  for (const e of ds) {
    const group = e.tag >>> 16;
    const element = e.tag & 0xffff;
    if (group % 2 === 1 && element >= 0x10 && element <= 0xff) creators.set((group << 8) | element, str(e));
  }
  return creators;
}

function privateAction(e: Element, creators: Map<number, string>, ctx: Ctx): Action {
  if (!ctx.options.has("RetainSafePrivate")) return "X";
  const group = e.tag >>> 16;
  const element = e.tag & 0xffff;
  if (element < 0x10) return "X";
  if (element <= 0xff) return "K"; // creator: kept only if its block keeps something (pruned below)
  const creator = creators.get((group << 8) | (element >>> 8));
  return creator !== undefined && isSafePrivate(creator, group, element & 0xff) ? "C" : "X";
}

function actionFor(e: Element, creators: Map<number, string>, ctx: Ctx): Action {
  const group = e.tag >>> 16;
  if (group === 0x0002 || group === 0xfffe) return "X";
  if (group % 2 === 1) return privateAction(e, creators, ctx);
  if (CONFORMANCE_TAGS.has(e.tag)) return "X"; // re-added at the top level
  return standardAction(e.tag, effectiveVr(e), ctx);
}

function remapUidValue(value: Uint8Array, ctx: Ctx): Uint8Array {
  const parts = str({ tag: 0, vr: "UI", value }).split("\\");
  return encode(parts.map((p) => remapUid(ctx.key, p.replace(/\0/g, "").trim())).join("\\"), "UI");
}

/** First pass: collect identifiers (values that the profile removes or replaces) from the whole tree. */
function collectTokens(ds: readonly Element[], ctx: Ctx): void {
  const creators = privateCreators(ds);
  for (const e of ds) {
    if (e.items) {
      for (const item of e.items) collectTokens(item, ctx);
      continue;
    }
    if (e.fragments || (e.tag >>> 16) % 2 === 1) continue;
    const action = actionFor(e, creators, ctx);
    if (action === "K") continue;
    const vr = effectiveVr(e);
    const keptShifted = action === "C" && vr !== "PN";
    if (keptShifted) continue;
    if (vr === "PN") ctx.tokens.add(str(e), "name");
    else if (IDENTIFIER_TAGS.has(e.tag))
      ctx.tokens.add(str(e), e.tag === TAG.PatientBirthDate ? "date" : "id");
    else if (vr === "UI" && action === "U") ctx.tokens.add(str(e), "uid");
  }
}

function processItems(items: Element[][], ctx: Ctx, depth: number): Element[][] {
  const out: Element[][] = [];
  for (const item of items) {
    const processed = processDataset(item, ctx, depth + 1);
    // An item emptied by removals says nothing; dropping it avoids the "empty items left behind" failure mode.
    if (processed.length > 0) out.push(processed);
  }
  return out;
}

function apply(e: Element, action: Action, ctx: Ctx, depth: number): Element | undefined {
  const vr = effectiveVr(e);
  // Relabel UN as its dictionary string VR so the value we write matches the VR we declare.
  const outVr = e.vr === "UN" && STRING_VRS.has(vr) && e.value.length <= 0xffff ? vr : e.vr;
  if (e.items) {
    if (action === "X") return undefined;
    if (action === "Z") return { tag: e.tag, vr: "SQ", value: EMPTY, items: [] };
    return { tag: e.tag, vr: "SQ", value: EMPTY, items: processItems(e.items, ctx, depth) };
  }
  switch (action) {
    case "X":
      return undefined;
    case "Z": {
      if (e.fragments) return undefined;
      const keyed = KEYED_IDS.get(e.tag);
      if (keyed && str(e) !== "") return { tag: e.tag, vr: outVr, value: keyedValue(e, keyed, ctx) };
      return { tag: e.tag, vr: outVr, value: EMPTY };
    }
    case "D": {
      if (e.fragments) return undefined;
      if (e.tag === TAG.PatientID) return { tag: e.tag, vr: outVr, value: encode(ctx.patientIdValue, "LO") };
      const keyed = KEYED_IDS.get(e.tag);
      if (keyed) return { tag: e.tag, vr: outVr, value: keyedValue(e, keyed, ctx) };
      if (vr === "UI") return { tag: e.tag, vr: outVr, value: remapUidValue(e.value, ctx) };
      return { tag: e.tag, vr: outVr, value: dummyValue(vr) };
    }
    case "U":
      if (vr === "UI") return { tag: e.tag, vr: outVr, value: remapUidValue(e.value, ctx) };
      return e.fragments ? undefined : { tag: e.tag, vr: outVr, value: dummyValue(vr) };
    case "K":
      return outVr === e.vr ? e : { ...e, vr: outVr };
    case "C":
      return clean(e, vr, outVr, ctx);
  }
}

function keyedValue(
  e: Element,
  keyed: { prefix: string; max: number; domain: string },
  ctx: Ctx,
): Uint8Array {
  const id = keyedId(ctx.key, keyed.domain, str(e), keyed.prefix, keyed.max);
  ctx.tokens.generated.add(id);
  return encode(id, "SH");
}

const FULL = "RetainLongitudinalTemporalInformationFullDates";
const MODIFIED = "RetainLongitudinalTemporalInformationModifiedDates";

/** C: keep the meaning, lose the identity. */
function clean(e: Element, vr: string, outVr: string, ctx: Ctx): Element | undefined {
  const group = e.tag >>> 16;
  if ((group & 0xff00) === 0x5000 || (group & 0xff00) === 0x6000) {
    if (vr === "OB" || vr === "OW" || e.fragments) {
      // Overlay and curve bitmaps may carry burned-in text we cannot read: Clean Graphics removes them.
      ctx.warnings.add("overlay or curve data removed (cannot be verified clean)");
      return undefined;
    }
  }
  if (vr === "DA" || vr === "DT") {
    if (ctx.options.has(FULL)) return e;
    if (!ctx.options.has(MODIFIED)) return { tag: e.tag, vr: outVr, value: EMPTY };
    const shifted = shiftMulti(str(e), vr, ctx.dayOffset);
    if (shifted === undefined) {
      ctx.warnings.add(`unparseable date blanked in ${tagString(e.tag)}`);
      return { tag: e.tag, vr: outVr, value: EMPTY };
    }
    return { tag: e.tag, vr: outVr, value: encode(shifted, outVr) };
  }
  if (vr === "TM") {
    // Whole-day shifts leave the time of day unchanged.
    return ctx.options.has(FULL) || ctx.options.has(MODIFIED) ? e : { tag: e.tag, vr: outVr, value: EMPTY };
  }
  if (vr === "UI") {
    return ctx.options.has("RetainUIDs") ? e : { tag: e.tag, vr: outVr, value: remapUidValue(e.value, ctx) };
  }
  if (vr === "PN") return { tag: e.tag, vr: outVr, value: dummyValue("PN") };
  if (e.fragments) return e;
  if (STRING_VRS.has(vr)) {
    const copy: Element = { tag: e.tag, vr: outVr, value: e.value };
    ctx.scrub.push(copy);
    return copy;
  }
  return e;
}

function processDataset(ds: readonly Element[], ctx: Ctx, depth: number): Element[] {
  const creators = privateCreators(ds);
  const out: Element[] = [];
  const keptBlocks = new Set<number>();
  for (const e of ds) {
    const action = actionFor(e, creators, ctx);
    const result = apply(e, action, ctx, depth);
    if (!result) continue;
    out.push(result);
    const group = e.tag >>> 16;
    const element = e.tag & 0xffff;
    if (group % 2 === 1 && element > 0xff) keptBlocks.add((group << 8) | (element >>> 8));
  }
  // Private creators survive only for blocks that still hold an element.
  return out.filter((e) => {
    const group = e.tag >>> 16;
    const element = e.tag & 0xffff;
    if (group % 2 === 0 || element > 0xff) return true;
    return keptBlocks.has((group << 8) | element);
  });
}

function scrubAll(ctx: Ctx): void {
  const tokens = ctx.tokens.scrubList();
  if (tokens.length === 0) return;
  for (const e of ctx.scrub) {
    const original = rawString(e.value);
    const upper = asciiUpper(original);
    let chars: string[] | undefined;
    for (const t of tokens) {
      let at = upper.indexOf(t);
      while (at >= 0) {
        chars ??= [...original];
        for (let i = at; i < at + t.length; i++) chars[i] = "X";
        at = upper.indexOf(t, at + t.length);
      }
    }
    if (chars) e.value = new Uint8Array(Buffer.from(chars.join(""), "latin1"));
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

function handlePixels(dataset: Element[], options: DeidOptions, ctx: Ctx, le: boolean): boolean {
  const suspicion = burnedInSuspicion(dataset);
  const wantsClean = ctx.options.has("CleanPixelData");
  const mask = wantsClean ? findMask(dataset, options.pixelMasks ?? [], le) : undefined;
  if (suspicion && !mask) {
    throw new DeidError(
      "BURNED_IN_ANNOTATION",
      `${suspicion}; ${wantsClean ? "no pixel mask matches this device and size" : "CleanPixelData option not enabled"}`,
    );
  }
  if (!mask) return false;
  const cleaned = applyMask(dataset, mask, le);
  const i = dataset.findIndex((e) => e.tag === TAG.PixelData);
  dataset[i] = cleaned;
  return true;
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
  const sopClass = str(find(ds, TAG.SOPClassUID));
  const sopInstance = str(find(ds, TAG.SOPInstanceUID));
  if (sopClass === "" || sopInstance === "") {
    throw new DeidError("MISSING_REQUIRED_UID", "SOP Class UID or SOP Instance UID missing");
  }
  checkCharacterSets(ds);
  if (parsed.ts.explicit) checkVrs(ds);

  const warnings = new Set<string>();
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
  const masked = handlePixels(dataset, options, ctx, parsed.ts.littleEndian);
  const applied = opts.filter((o) => o !== "CleanPixelData" || masked);
  if (masked) {
    const i = dataset.findIndex((e) => e.tag === TAG.BurnedInAnnotation);
    const no: Element = { tag: TAG.BurnedInAnnotation, vr: "CS", value: encode("NO", "CS") };
    if (i >= 0) dataset[i] = no;
    else dataset.push(no);
  }
  if (opts.includes("CleanPixelData") && !masked)
    warnings.add("CleanPixelData: no mask applied to this image");
  dataset.push(...conformanceElements(applied, options.key.version));
  dataset.sort((a, b) => a.tag - b.tag);

  const newSop = str(find(dataset, TAG.SOPInstanceUID));
  if (newSop === "" || str(find(dataset, TAG.SOPClassUID)) === "") {
    throw new DeidError("MISSING_REQUIRED_UID", "SOP UIDs lost during de-identification");
  }
  const meta = buildMeta(dataset, parsed.ts);
  const body = writeDataset(dataset, parsed.ts.explicit, parsed.ts.littleEndian, parsed.datasetBytes + 4096);
  // Output sanity: de-identification removes and replaces; it never grows a file by much.
  const limit = parsed.datasetBytes * 1.25 + 65_536;
  if (body.length > limit)
    throw new DeidError(
      "OUTPUT_SANITY",
      `output data set ${body.length} bytes exceeds limit ${Math.round(limit)}`,
    );
  const output = writePart10(meta, dataset, parsed.ts, body.length);

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
  const residue = findResidue(reread.dataset, ctx.tokens, UNSCANNED_TAGS);
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
      study: pick(TAG.StudyInstanceUID),
      series: pick(TAG.SeriesInstanceUID),
      sop: newSop,
    },
    warnings: [...warnings],
  };
}
