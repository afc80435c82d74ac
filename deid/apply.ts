/**
 * Applying the profile to an element tree: one action per element (see profile/actions.ts), recursing through
 * every sequence, private ones included; identifiers of the file are collected first so that kept text can be
 * scrubbed of them afterwards. Pure functions over the tree; values are views until something changes them.
 */
import { asciiGlyph, type Charset, charsetOf, decodeGlyphs, encodeGlyphs, textOf } from "./charset.ts";
import { shiftMulti } from "./dates.ts";
import { CONFORMANCE_TAGS } from "./conformance.ts";
import { type Element, TAG } from "./dicom/element.ts";
import { dictionaryVr, STRING_VRS, tagString } from "./dicom/vr.ts";
import { type Action, type ActionContext, isSafePrivate, standardAction } from "./profile/actions.ts";
import { keyedId, remapUid } from "./pseudonym.ts";
import type { Tokens } from "./scan.ts";
import type { DeidKey, DeidOptionName } from "./types.ts";
import { asciiUpper, dummyValue, encode, str } from "./values.ts";

const EMPTY = new Uint8Array(0);
const FULL = "RetainLongitudinalTemporalInformationFullDates";
const MODIFIED = "RetainLongitudinalTemporalInformationModifiedDates";

/** ID-like attributes that get a keyed pseudonym instead of a blank, so records stay linkable. */
export const KEYED_IDS = new Map<number, { prefix: string; max: number; domain: string }>([
  [TAG.AccessionNumber, { prefix: "A", max: 16, domain: "accession" }],
  [TAG.StudyID, { prefix: "S", max: 16, domain: "study-id" }],
]);

/** Attributes whose original values are identifiers: scrubbed from kept text and searched for in the output. */
export const IDENTIFIER_TAGS = new Set<number>([
  TAG.PatientID,
  0x00101000, // Other Patient IDs
  TAG.AccessionNumber,
  TAG.PatientBirthDate,
  0x00101040, // Patient's Address
  0x00102154, // Patient's Telephone Numbers
  0x00101090, // Medical Record Locator
  0x00400512, // Container Identifier
  0x00400551, // Specimen Identifier
  0x00120040, // Clinical Trial Subject ID
  0x00120042, // Clinical Trial Subject Reading ID
  0x00380010, // Admission ID
  0x00401001, // Requested Procedure ID
  0x00402016, // Placer Order Number / Imaging Service Request
  0x00402017, // Filler Order Number / Imaging Service Request
]);

export interface Ctx extends ActionContext {
  options: ReadonlySet<DeidOptionName>;
  key: DeidKey;
  dayOffset: number;
  patientIdValue: string;
  warnings: Set<string>;
  /** Kept text elements to scrub once all identifiers are known, with the character set they are written in. */
  scrub: { element: Element; charset: Charset; vr: string }[];
  /** The character set of the data set being processed (items may name their own). */
  charset: Charset;
  tokens: Tokens;
}

/** The VR decisions are made on: the data dictionary's for standard tags (checked compatible on read). */
export function effectiveVr(e: Element): string {
  if ((e.tag >>> 16) % 2 === 1) return e.vr;
  return dictionaryVr(e.tag) ?? e.vr;
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
export function collectTokens(ds: readonly Element[], ctx: Ctx): void {
  inCharsetOf(ds, ctx, () => collectTokensIn(ds, ctx));
}

/** Runs `fn` with `ctx.charset` set to the data set's own (or the inherited) character set, then restores it. */
function inCharsetOf<T>(ds: readonly Element[], ctx: Ctx, fn: () => T): T {
  const inherited = ctx.charset;
  ctx.charset = charsetOf(ds, inherited);
  try {
    return fn();
  } finally {
    ctx.charset = inherited;
  }
}

function collectTokensIn(ds: readonly Element[], ctx: Ctx): void {
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
    if (vr === "PN") ctx.tokens.add(textOf(e, ctx.charset, vr), "name");
    else if (IDENTIFIER_TAGS.has(e.tag))
      ctx.tokens.add(textOf(e, ctx.charset, vr), e.tag === TAG.PatientBirthDate ? "date" : "id");
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
    ctx.scrub.push({ element: copy, charset: ctx.charset, vr });
    return copy;
  }
  return e;
}

export function processDataset(ds: readonly Element[], ctx: Ctx, depth: number): Element[] {
  return inCharsetOf(ds, ctx, () => processDatasetIn(ds, ctx, depth));
}

function processDatasetIn(ds: readonly Element[], ctx: Ctx, depth: number): Element[] {
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

/** Replaces every occurrence of a known identifier in kept text with X, in the text's own character set. */
export function scrubAll(ctx: Ctx): void {
  const tokens = ctx.tokens.scrubList();
  if (tokens.length === 0) return;
  for (const { element: e, charset, vr } of ctx.scrub) {
    const glyphs = decodeGlyphs(e.value, charset, vr);
    // UTF-16 offset → glyph index (a glyph may decode to a surrogate pair).
    const owner: number[] = [];
    glyphs.forEach((g, i) => {
      for (let k = 0; k < g.text.length; k++) owner.push(i);
    });
    const upper = asciiUpper(glyphs.map((g) => g.text).join(""));
    const hit = new Set<number>();
    for (const t of tokens) {
      let at = upper.indexOf(t);
      while (at >= 0) {
        for (let i = at; i < at + t.length; i++) hit.add(owner[i] as number);
        at = upper.indexOf(t, at + t.length);
      }
    }
    if (hit.size === 0) continue;
    const replaced = glyphs.map((g, i) => (hit.has(i) ? asciiGlyph("X", charset) : g));
    const bytes = encodeGlyphs(replaced, charset);
    e.value = bytes.length % 2 === 1 ? Uint8Array.from([...bytes, 0x20]) : bytes;
  }
}
