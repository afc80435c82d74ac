/**
 * `medmlops deid verify`: scores a de-identified result against its original the way the MIDI-B challenge
 * (MICCAI 2024) does — per check: tag removed / retained as the profile says, text no longer the original,
 * UID changed, UID consistent (same original → same new UID, across every file given), patient ID consistent,
 * dates shifted (the original date string must not remain), free text free of the input's identifiers —
 * plus the conformance attributes. Leaks are listed by tag and check, never by value.
 *
 * Options default to those recorded in the output's De-identification Method Code Sequence.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { listInputs } from "./batch.ts";
import { type Charset, charsetOf, DEFAULT_CHARSET, textOf } from "./charset.ts";
import { CID_7050, CONFORMANCE_TAGS } from "./conformance.ts";
import { type Element, find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { dictionaryVr, tagString } from "./dicom/vr.ts";
import { type Action, rowFor, standardAction } from "./profile/actions.ts";
import { isWellKnownUid } from "./pseudonym.ts";
import { findResidue, tokensOf } from "./scan.ts";
import type { DeidOptionName } from "./types.ts";
import { str } from "./values.ts";

export type CheckKind =
  | "tag-removed"
  | "text-changed"
  | "tag-retained"
  | "uid-changed"
  | "uid-consistent"
  | "patient-id-consistent"
  | "date-shifted"
  | "free-text-clean"
  | "private-removed"
  | "conformance"
  | "pixels-retained";

export interface Leak {
  file: string;
  tag: string;
  check: CheckKind;
}

export interface VerifyResult {
  files: number;
  score: number;
  passed: number;
  total: number;
  byCheck: Record<string, { passed: number; total: number }>;
  /** Failed privacy checks (all but tag-retained and pixels-retained, which measure over-removal). */
  leaks: Leak[];
  /** Attributes the profile keeps that were not kept (utility, not privacy). */
  overRemoved: Leak[];
  unreadable: string[];
}

const CODE_TO_OPTION = new Map(
  Object.entries(CID_7050)
    .filter(([name]) => name !== "Basic")
    .map(([name, c]) => [c.code, name as DeidOptionName]),
);

function optionsFromOutput(ds: readonly Element[]): DeidOptionName[] {
  const seq = find(ds, TAG.DeidentificationMethodCodeSequence);
  const out: DeidOptionName[] = [];
  for (const item of seq?.items ?? []) {
    const o = CODE_TO_OPTION.get(str(find(item, TAG.CodeValue)));
    if (o) out.push(o);
  }
  return out;
}

class Scorer {
  readonly byCheck: Record<string, { passed: number; total: number }> = {};
  readonly leaks: Leak[] = [];
  readonly overRemoved: Leak[] = [];
  /** Original UID → new UID, across all files (consistency is a study-level property). */
  readonly uidMap = new Map<string, string>();
  readonly patientMap = new Map<string, string>();

  record(file: string, tag: number, check: CheckKind, ok: boolean): void {
    const c = this.byCheck[check] ?? { passed: 0, total: 0 };
    this.byCheck[check] = c;
    c.total++;
    if (ok) c.passed++;
    else
      (check === "tag-retained" ? this.overRemoved : this.leaks).push({ file, tag: tagString(tag), check });
  }
}

function vrOf(e: Element): string {
  return e.vr === "UN" ? (dictionaryVr(e.tag) ?? "UN") : e.vr;
}

function checkAttributes(
  file: string,
  orig: readonly Element[],
  out: readonly Element[],
  options: Set<DeidOptionName>,
  s: Scorer,
): void {
  const ctx = { options };
  for (const o of orig) {
    const group = o.tag >>> 16;
    if (group === 0x0002 || (o.tag & 0xffff) === 0) continue;
    const d = find(out, o.tag);
    if (group % 2 === 1) {
      if (!options.has("RetainSafePrivate")) s.record(file, o.tag, "private-removed", d === undefined);
      continue;
    }
    if (!rowFor(o.tag)) {
      if (o.items && d?.items && o.items.length === d.items.length) {
        o.items.forEach((item, i) => {
          checkAttributes(file, item, d.items?.[i] ?? [], options, s);
        });
      }
      continue;
    }
    const action: Action = standardAction(o.tag, vrOf(o), ctx);
    const ov = str(o);
    const dv = d ? str(d) : undefined;
    const vr = vrOf(o);
    switch (action) {
      case "X":
        s.record(file, o.tag, "tag-removed", d === undefined);
        break;
      case "Z":
      case "D":
        if (o.items) s.record(file, o.tag, "tag-removed", !d || (d.items?.length ?? 0) <= o.items.length);
        else if (ov !== "") s.record(file, o.tag, "text-changed", dv !== ov);
        break;
      case "U":
        if (vr === "UI" && ov !== "" && !isWellKnownUid(ov)) s.record(file, o.tag, "uid-changed", dv !== ov);
        break;
      case "K":
        if (!o.items) s.record(file, o.tag, "tag-retained", dv === ov);
        break;
      case "C":
        if (
          (vr === "DA" || vr === "DT") &&
          ov !== "" &&
          !options.has("RetainLongitudinalTemporalInformationFullDates")
        ) {
          s.record(file, o.tag, "date-shifted", dv !== ov);
        }
        break;
    }
    if (o.items && d?.items && o.items.length === d.items.length) {
      o.items.forEach((item, i) => {
        checkAttributes(file, item, d.items?.[i] ?? [], options, s);
      });
    }
  }
}

/** Walks both trees in parallel to pair original and new UIDs; a UID mapped two ways is inconsistent. */
function pairUids(file: string, orig: readonly Element[], out: readonly Element[], s: Scorer): void {
  for (const o of orig) {
    const d = find(out, o.tag);
    if (!d) continue;
    if (o.items && d.items && o.items.length === d.items.length) {
      o.items.forEach((item, i) => {
        pairUids(file, item, d.items?.[i] ?? [], s);
      });
      continue;
    }
    if (vrOf(o) !== "UI" || o.tag >>> 16 === 0x0002) continue;
    const ov = str(o).replace(/\0/g, "");
    const dv = str(d).replace(/\0/g, "");
    if (ov === "" || isWellKnownUid(ov) || ov === dv) continue;
    const prior = s.uidMap.get(ov);
    if (prior === undefined) s.uidMap.set(ov, dv);
    s.record(file, o.tag, "uid-consistent", prior === undefined || prior === dv);
  }
}

function collectIdentifiers(
  ds: readonly Element[],
  tokens: ReturnType<typeof tokensOf>,
  dates: Set<string>,
  inherited: Charset,
): void {
  const charset = charsetOf(ds, inherited);
  for (const e of ds) {
    if (e.items) {
      for (const item of e.items) collectIdentifiers(item, tokens, dates, charset);
      continue;
    }
    if ((e.tag >>> 16) % 2 === 1) continue;
    const vr = vrOf(e);
    if (vr === "PN") tokens.add(textOf(e, charset, vr), "name");
    else if (e.tag === TAG.PatientID || e.tag === 0x00101000 || e.tag === TAG.AccessionNumber)
      tokens.add(textOf(e, charset, vr), "id");
    else if (e.tag === TAG.PatientBirthDate) tokens.add(str(e), "date");
    if ((vr === "DA" || vr === "DT") && str(e) !== "")
      for (const v of str(e).split("\\")) dates.add(v.trim().slice(0, 8));
  }
}

function findDate(ds: readonly Element[], dates: Set<string>): number[] {
  const hits: number[] = [];
  for (const e of ds) {
    if (e.items) {
      for (const item of e.items) hits.push(...findDate(item, dates));
      continue;
    }
    const vr = vrOf(e);
    if (
      (vr === "DA" || vr === "DT") &&
      str(e)
        .split("\\")
        .some((v) => dates.has(v.trim().slice(0, 8)))
    )
      hits.push(e.tag);
  }
  return hits;
}

function samePixels(a: Element, b: Element | undefined): boolean {
  if (!b) return false;
  if (a.fragments || b.fragments) {
    const fa = a.fragments ?? [];
    const fb = b.fragments ?? [];
    return fa.length === fb.length && fa.every((f, i) => Buffer.from(f).equals(Buffer.from(fb[i] ?? [])));
  }
  return Buffer.from(a.value).equals(Buffer.from(b.value));
}

function verifyPair(
  file: string,
  original: Uint8Array,
  deidentified: Uint8Array,
  forced: DeidOptionName[] | undefined,
  s: Scorer,
): void {
  const o = readFile(original);
  const d = readFile(deidentified);
  const options = new Set(forced ?? optionsFromOutput(d.dataset));
  checkAttributes(file, o.dataset, d.dataset, options, s);
  pairUids(file, o.dataset, d.dataset, s);

  const tokens = tokensOf();
  const dates = new Set<string>();
  collectIdentifiers(o.dataset, tokens, dates, DEFAULT_CHARSET);
  // PatientName / PatientID tokens must not remain anywhere (pixel data excluded).
  // Pixel data, our conformance attributes and keyed pseudonyms (checked as text-changed above) are not searched.
  const skip = new Set([
    TAG.PixelData,
    0x7fe00008,
    0x7fe00009,
    ...CONFORMANCE_TAGS,
    TAG.PatientID,
    TAG.AccessionNumber,
    TAG.StudyID,
  ]);
  const residue = findResidue(d.dataset, tokens, skip, DEFAULT_CHARSET);
  s.record(file, residue ?? 0, "free-text-clean", residue === undefined);
  if (!options.has("RetainLongitudinalTemporalInformationFullDates")) {
    const hits = findDate(d.dataset, dates);
    if (hits.length === 0) s.record(file, 0, "date-shifted", true);
    for (const h of hits) s.record(file, h, "date-shifted", false);
  }
  const origPid = str(find(o.dataset, TAG.PatientID));
  const newPid = str(find(d.dataset, TAG.PatientID));
  if (origPid !== "") {
    const prior = s.patientMap.get(origPid);
    if (prior === undefined) s.patientMap.set(origPid, newPid);
    s.record(
      file,
      TAG.PatientID,
      "patient-id-consistent",
      newPid !== origPid && (prior === undefined || prior === newPid),
    );
  }
  s.record(
    file,
    TAG.PatientIdentityRemoved,
    "conformance",
    str(find(d.dataset, TAG.PatientIdentityRemoved)) === "YES",
  );
  s.record(
    file,
    TAG.DeidentificationMethodCodeSequence,
    "conformance",
    (find(d.dataset, TAG.DeidentificationMethodCodeSequence)?.items?.length ?? 0) > 0,
  );
  // Pixels: byte-identical unless Clean Pixel Data masked them (MIDI-B "pixels retained").
  const op = find(o.dataset, TAG.PixelData);
  const dp = find(d.dataset, TAG.PixelData);
  if (op && !options.has("CleanPixelData"))
    s.record(file, TAG.PixelData, "pixels-retained", samePixels(op, dp));
  const metaSop = str(find(d.meta, TAG.MediaStorageSOPInstanceUID));
  s.record(
    file,
    TAG.MediaStorageSOPInstanceUID,
    "conformance",
    metaSop !== "" && metaSop === str(find(d.dataset, TAG.SOPInstanceUID)),
  );
}

/** Verifies one in-memory pair (library use and tests). */
export function verifyBuffers(
  original: Uint8Array,
  deidentified: Uint8Array,
  options?: DeidOptionName[],
): VerifyResult {
  const s = new Scorer();
  verifyPair("", original, deidentified, options, s);
  return summarize(s, 1, []);
}

function summarize(s: Scorer, files: number, unreadable: string[]): VerifyResult {
  let passed = 0;
  let total = 0;
  for (const c of Object.values(s.byCheck)) {
    passed += c.passed;
    total += c.total;
  }
  return {
    files,
    score: total === 0 ? 0 : Math.round((passed / total) * 10_000) / 100,
    passed,
    total,
    byCheck: s.byCheck,
    leaks: s.leaks,
    overRemoved: s.overRemoved,
    unreadable,
  };
}

/** Verifies a file pair, or two folders paired by relative path (UID consistency is checked across all). */
export async function verifyFiles(
  original: string,
  deidentified: string,
  options?: DeidOptionName[],
): Promise<VerifyResult> {
  const s = new Scorer();
  const unreadable: string[] = [];
  const pairs: Array<{ rel: string; orig: string; out: string }> = [];
  if (statSync(original).isDirectory()) {
    for (const t of await listInputs(deidentified))
      pairs.push({ rel: t.rel, orig: join(original, t.rel), out: t.path });
  } else {
    pairs.push({ rel: "", orig: original, out: deidentified });
  }
  for (const p of pairs) {
    try {
      verifyPair(p.rel, readFileSync(p.orig), readFileSync(p.out), options, s);
    } catch {
      unreadable.push(p.rel);
    }
  }
  return summarize(s, pairs.length, unreadable);
}
