import { describe, expect, it } from "vitest";
import { type Element, find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { deidentify } from "./engine.ts";
import { dateOffsetDays, patientPseudonym, remapUid } from "./pseudonym.ts";
import { writeDataset } from "./dicom/writer.ts";
import {
  baseSpecs,
  buildFile,
  CT_IMAGE,
  containsText,
  el,
  DEFLATED,
  EXPLICIT_BE,
  IMPLICIT_LE,
  OTHER_KEY,
  readWithDcmjs,
  type Spec,
  TEST_KEY,
  us,
} from "./testing/build.ts";
import type { DeidOptionName, DeidOutcome } from "./types.ts";
import { str } from "./values.ts";

function ok(r: DeidOutcome): Extract<DeidOutcome, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${r.code}: ${r.reason}`);
  return r;
}

function run(specs: Spec[], options: DeidOptionName[] = [], ts?: string) {
  const out = ok(deidentify(buildFile(specs, ts), { key: TEST_KEY, options }));
  const parsed = readFile(out.output);
  return { out, ds: parsed.dataset, meta: parsed.meta, ts: parsed.ts };
}

const val = (ds: readonly Element[], tag: number) => str(find(ds, tag));

describe("Basic profile actions", () => {
  const { ds } = run(baseSpecs());

  it("X removes the attribute (Patient's Age, Image Comments, Institution Name via X/Z/D→D is dummy)", () => {
    expect(find(ds, 0x00101010)).toBeUndefined();
    expect(find(ds, 0x00204000)).toBeUndefined();
    expect(find(ds, 0x00081030)).toBeUndefined();
  });

  it("Z keeps the attribute with zero length (Patient's Name, Referring Physician, Study Date)", () => {
    for (const tag of [TAG.PatientName, 0x00080090, TAG.StudyDate, TAG.PatientBirthDate]) {
      const e = find(ds, tag);
      expect(e, tag.toString(16)).toBeDefined();
      expect(e?.value.length).toBe(0);
    }
  });

  it("Z on ID-like attributes becomes a keyed pseudonym so records stay linkable (Accession, Study ID)", () => {
    expect(val(ds, TAG.AccessionNumber)).toMatch(/^A[0-9A-F]{15}$/);
    expect(val(ds, TAG.StudyID)).toMatch(/^S[0-9A-F]{15}$/);
  });

  it("D replaces with a dummy of the VR (Institution Name X/Z/D → D, Device Serial Number)", () => {
    expect(val(ds, 0x00080080)).toBe("ANONYMIZED");
    expect(val(ds, 0x00181000)).toBe("ANONYMIZED");
  });

  it("Patient ID (Z/D) becomes the keyed patient pseudonym", () => {
    expect(val(ds, TAG.PatientID)).toBe(patientPseudonym(TEST_KEY, "MRN4455667").slice(0, 64));
  });

  it("U remaps UIDs to 2.25.<HMAC>, consistently, and never remaps the SOP Class", () => {
    expect(val(ds, TAG.SOPInstanceUID)).toBe(remapUid(TEST_KEY, "1.2.826.0.1.3680043.2.1125.1.100"));
    expect(val(ds, TAG.StudyInstanceUID)).toMatch(/^2\.25\.[1-9][0-9]{0,38}$/);
    expect(val(ds, TAG.SOPClassUID)).toBe("1.2.840.10008.5.1.4.1.1.2");
  });

  it("K: attributes outside the table that carry no identity are kept (Modality, Manufacturer, pixel module)", () => {
    expect(val(ds, TAG.Modality)).toBe("CT");
    expect(val(ds, TAG.Manufacturer)).toBe("ACME MEDICAL");
    expect(find(ds, TAG.PixelData)?.value).toEqual(new Uint8Array(32).fill(7));
  });

  it("adds the conformance attributes and CID 7050 code for the Basic profile", () => {
    expect(val(ds, TAG.PatientIdentityRemoved)).toBe("YES");
    expect(val(ds, TAG.DeidentificationMethod)).toContain("key test-v1");
    const codes = find(ds, TAG.DeidentificationMethodCodeSequence)?.items?.map((i) => val(i, TAG.CodeValue));
    expect(codes).toEqual(["113100"]);
    expect(val(ds, TAG.LongitudinalTemporalInformationModified)).toBe("REMOVED");
  });

  it("updates the file meta: MediaStorageSOPInstanceUID = SOPInstanceUID", () => {
    const { ds: d2, meta } = run(baseSpecs());
    expect(val(meta, TAG.MediaStorageSOPInstanceUID)).toBe(val(d2, TAG.SOPInstanceUID));
  });

  it("leaves none of the planted identifiers anywhere in the bytes", () => {
    const out = ok(deidentify(buildFile(baseSpecs()), { key: TEST_KEY })).output;
    for (const s of [
      "SMITHSONIAN",
      "JOHANNA",
      "MRN4455667",
      "ACC998877",
      "19610704",
      "20210315",
      "HOUSE",
      "ELSEWHERE",
      "1.2.826.0.1.3680043.2.1125.1.1",
      "SN-77-1234",
    ]) {
      expect(containsText(out, s), s).toBe(false);
    }
  });
});

describe("combined codes choose the member valid for any IOD Type", () => {
  it("X/Z → Z (Acquisition Date), X/D → D (Series Time), X/Z/U* → remapped sequence", () => {
    const { ds } = run([
      ...baseSpecs(),
      [0x00080021, "DA", "20210315"],
      [0x00080022, "DA", "20210315"],
      [0x00080031, "TM", "101500"],
      [
        0x00081140,
        "SQ",
        [
          [
            [0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"],
            [0x00081155, "UI", "1.2.3.4.5.6.7"],
          ],
        ],
      ],
    ]);
    expect(find(ds, 0x00080022)?.value.length).toBe(0);
    expect(val(ds, 0x00080021)).toBe("19000101");
    expect(val(ds, 0x00080031)).toBe("000000");
    const item = find(ds, 0x00081140)?.items?.[0] ?? [];
    expect(val(item, 0x00081155)).toBe(remapUid(TEST_KEY, "1.2.3.4.5.6.7"));
    expect(val(item, 0x00081150)).toBe("1.2.840.10008.5.1.4.1.1.2");
  });
});

describe("options", () => {
  const withOpt = (o: DeidOptionName) => run(baseSpecs(), [o]).ds;
  const codes = (ds: Element[]) =>
    find(ds, TAG.DeidentificationMethodCodeSequence)?.items?.map((i) => val(i, TAG.CodeValue));

  it("RetainUIDs keeps instance UIDs (113110)", () => {
    const ds = withOpt("RetainUIDs");
    expect(val(ds, TAG.StudyInstanceUID)).toBe("1.2.826.0.1.3680043.2.1125.1.1");
    expect(codes(ds)).toEqual(["113100", "113110"]);
  });
  it("RetainDeviceIdentity keeps the device serial number (113109)", () => {
    const ds = withOpt("RetainDeviceIdentity");
    expect(val(ds, 0x00181000)).toBe("SN-77-1234");
    expect(codes(ds)).toContain("113109");
  });
  it("RetainInstitutionIdentity keeps the institution name (113112)", () => {
    const ds = withOpt("RetainInstitutionIdentity");
    expect(val(ds, 0x00080080)).toBe("SAINT ELSEWHERE HOSPITAL");
    expect(codes(ds)).toContain("113112");
  });
  it("RetainPatientCharacteristics keeps sex and age (113108)", () => {
    const ds = withOpt("RetainPatientCharacteristics");
    expect(val(ds, 0x00100040)).toBe("F");
    expect(val(ds, 0x00101010)).toBe("059Y");
    expect(codes(ds)).toContain("113108");
  });
  it("RetainLongitudinalTemporalInformationFullDates keeps dates (113106, UNMODIFIED)", () => {
    const ds = withOpt("RetainLongitudinalTemporalInformationFullDates");
    expect(val(ds, TAG.StudyDate)).toBe("20210315");
    expect(val(ds, TAG.LongitudinalTemporalInformationModified)).toBe("UNMODIFIED");
    expect(codes(ds)).toContain("113106");
  });
  it("RetainLongitudinalTemporalInformationModifiedDates shifts every date by the patient's offset (113107)", () => {
    const ds = withOpt("RetainLongitudinalTemporalInformationModifiedDates");
    const offset = dateOffsetDays(TEST_KEY, "MRN4455667");
    const expected = new Date(Date.UTC(2021, 2, 15) + offset * 86_400_000)
      .toISOString()
      .slice(0, 10)
      .replace(/-/g, "");
    expect(val(ds, TAG.StudyDate)).toBe(expected);
    expect(val(ds, TAG.StudyDate)).not.toBe("20210315");
    expect(val(ds, 0x00080030)).toBe("101500");
    expect(val(ds, TAG.LongitudinalTemporalInformationModified)).toBe("MODIFIED");
    expect(codes(ds)).toContain("113107");
  });
  it("CleanDescriptors keeps descriptions but scrubs the patient's name out of them (113105)", () => {
    const ds = withOpt("CleanDescriptors");
    expect(val(ds, 0x00081030)).toBe("CT CHEST FOR XXXXXXXXXXX");
    expect(val(ds, 0x00204000)).not.toContain("SMITHSONIAN");
    expect(val(ds, 0x00204000)).not.toContain("HOUSE");
    expect(codes(ds)).toContain("113105");
  });
  it("CleanStructuredContent keeps the SR content tree and cleans it (113104)", () => {
    const sr: Spec[] = [
      ...baseSpecs(),
      [
        0x0040a730,
        "SQ",
        [
          [
            [0x0040a010, "CS", "CONTAINS"],
            [0x0040a040, "CS", "TEXT"],
            [0x0040a160, "UT", "Findings for SMITHSONIAN: normal"],
          ],
        ],
      ],
    ];
    const basic = run(sr).ds;
    const basicItem = find(basic, 0x0040a730)?.items?.[0] ?? [];
    expect(find(basicItem, 0x0040a160)).toBeUndefined();
    const ds = run(sr, ["CleanStructuredContent"]).ds;
    const item = find(ds, 0x0040a730)?.items?.[0] ?? [];
    expect(val(item, 0x0040a160)).toBe("Findings for XXXXXXXXXXX: normal");
    expect(codes(ds)).toContain("113104");
  });
  it("CleanGraphics keeps graphic annotations cleaned, removes overlay bitmaps (113103)", () => {
    const specs: Spec[] = [
      ...baseSpecs(),
      [0x60003000, "OW", new Uint8Array(8).fill(1)],
      [0x60004000, "LT", "overlay by SMITHSONIAN"],
    ];
    const basic = run(specs).ds;
    expect(find(basic, 0x60003000)).toBeUndefined();
    expect(find(basic, 0x60004000)).toBeUndefined();
    const ds = run(specs, ["CleanGraphics"]).ds;
    expect(find(ds, 0x60003000)).toBeUndefined();
    expect(val(ds, 0x60004000)).toBe("overlay by XXXXXXXXXXX");
    expect(codes(ds)).toContain("113103");
  });
  it("RetainSafePrivate keeps only listed safe private elements and their creator (113111)", () => {
    const specs: Spec[] = [
      ...baseSpecs(),
      [0x00190010, "LO", "SIEMENS MR HEADER"],
      [0x00191011, "LO", "SMITHSONIAN"],
      [0x0019100c, "IS", "1000"],
      [0x00290010, "LO", "ACME PRIVATE"],
      [0x00291001, "LO", "SMITHSONIAN"],
    ];
    const basic = run(specs).ds;
    expect(basic.filter((e) => (e.tag >>> 16) % 2 === 1)).toEqual([]);
    const ds = run(specs, ["RetainSafePrivate"]).ds;
    expect(val(ds, 0x0019100c)).toBe("1000");
    expect(val(ds, 0x00190010)).toBe("SIEMENS MR HEADER");
    expect(find(ds, 0x00191011)).toBeUndefined();
    expect(find(ds, 0x00290010)).toBeUndefined();
    expect(codes(ds)).toContain("113111");
  });
  it("CleanRecognizableVisualFeatures quarantines images flagged with recognizable features (cannot be cleaned)", () => {
    const specs: Spec[] = [...baseSpecs(), [TAG.RecognizableVisualFeatures, "CS", "YES"]];
    expect(ok(deidentify(buildFile(specs), { key: TEST_KEY })).warnings.join()).toContain("recognizable");
    const r = deidentify(buildFile(specs), { key: TEST_KEY, options: ["CleanRecognizableVisualFeatures"] });
    expect(r.ok ? "" : r.code).toBe("RECOGNIZABLE_VISUAL_FEATURES");
  });
  it("rejects Full and Modified Dates together", () => {
    const r = deidentify(buildFile(baseSpecs()), {
      key: TEST_KEY,
      options: [
        "RetainLongitudinalTemporalInformationFullDates",
        "RetainLongitudinalTemporalInformationModifiedDates",
      ],
    });
    expect(r.ok ? "" : r.code).toBe("INVALID_OPTIONS");
  });
});

describe("Clean Pixel Data", () => {
  // 8 × 32: large enough to carry a line of text (smaller images are released, see overquarantine.test.ts).
  const us8 = (specs: Spec[]) =>
    specs.map((s): Spec => {
      if (s[0] === TAG.Modality) return [TAG.Modality, "CS", "US"];
      if (s[0] === TAG.Rows) return [TAG.Rows, "US", us(8)];
      if (s[0] === TAG.Columns) return [TAG.Columns, "US", us(32)];
      if (s[0] === TAG.PixelData) return [TAG.PixelData, "OW", new Uint8Array(8 * 32 * 2).fill(7)];
      return s;
    });
  it("quarantines ultrasound and BurnedInAnnotation YES without a matching mask", () => {
    const r1 = deidentify(buildFile(us8(baseSpecs())), { key: TEST_KEY });
    expect(r1.ok ? "" : r1.code).toBe("BURNED_IN_ANNOTATION");
    const r2 = deidentify(buildFile([...baseSpecs(), [TAG.BurnedInAnnotation, "CS", "YES"]]), {
      key: TEST_KEY,
      options: ["CleanPixelData"],
    });
    expect(r2.ok ? "" : r2.code).toBe("BURNED_IN_ANNOTATION");
  });
  it("blanks the configured rectangle, sets BurnedInAnnotation NO and adds 113101", () => {
    const mask = {
      manufacturer: "acme medical",
      rows: 8,
      columns: 32,
      rectangles: [{ x: 0, y: 0, width: 2, height: 1 }],
    };
    const r = ok(
      deidentify(buildFile(us8(baseSpecs())), {
        key: TEST_KEY,
        options: ["CleanPixelData"],
        pixelMasks: [mask],
      }),
    );
    const ds = readFile(r.output).dataset;
    const px = find(ds, TAG.PixelData)?.value ?? new Uint8Array();
    expect([...px.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect([...px.subarray(4, 8)]).toEqual([7, 7, 7, 7]);
    expect(val(ds, TAG.BurnedInAnnotation)).toBe("NO");
    expect(
      find(ds, TAG.DeidentificationMethodCodeSequence)?.items?.map((i) => val(i, TAG.CodeValue)),
    ).toContain("113101");
  });
  it("a mask for another device does not match", () => {
    const mask = {
      manufacturer: "OTHER",
      rows: 8,
      columns: 32,
      rectangles: [{ x: 0, y: 0, width: 2, height: 1 }],
    };
    const r = deidentify(buildFile(us8(baseSpecs())), {
      key: TEST_KEY,
      options: ["CleanPixelData"],
      pixelMasks: [mask],
    });
    expect(r.ok ? "" : r.code).toBe("BURNED_IN_ANNOTATION");
  });
});

describe("sequences", () => {
  it("cleans four levels deep, private sequences included, and remaps nested UIDs like top-level ones", () => {
    const level4: Spec[][] = [
      [
        [0x00081155, "UI", "1.2.826.0.1.3680043.2.1125.1.1"],
        [0x0040a123, "PN", "DEEP^SMITHSONIAN"],
        [0x00100020, "LO", "MRN4455667"],
      ],
    ];
    const level3: Spec[][] = [[[0x00081199, "SQ", level4]]];
    const level2: Spec[][] = [[[0x0040a730, "SQ", level3]]];
    const specs: Spec[] = [
      ...baseSpecs(),
      [0x00081115, "SQ", [[[0x0040a730, "SQ", level2]]]],
      [0x00091010, "LO", "PRIVATE CREATOR"],
      [0x00091001, "SQ", [[[TAG.PatientName, "PN", "SMITHSONIAN^JOHANNA"]]]],
    ];
    const { out, ds } = run(specs);
    const l1 = find(ds, 0x00081115)?.items?.[0] ?? [];
    const l2 = find(l1, 0x0040a730)?.items?.[0] ?? [];
    const l3 = find(l2, 0x0040a730)?.items?.[0] ?? [];
    const l4 = find(l3, 0x00081199)?.items?.[0] ?? [];
    expect(val(l4, 0x00081155)).toBe(val(ds, TAG.StudyInstanceUID));
    expect(val(l4, 0x0040a123)).toBe("ANONYMOUS");
    expect(containsText(out.output, "SMITHSONIAN")).toBe(false);
    expect(containsText(out.output, "MRN4455667")).toBe(false);
    expect(find(ds, 0x00091001)).toBeUndefined();
  });

  it("reads a standard sequence encoded as UN (implicit VR inside) and remaps the UIDs in it", () => {
    const item = writeDataset(
      [el(0x00081150, "UI", CT_IMAGE), el(0x00081155, "UI", "1.2.3.4.5.6.7")],
      false,
      true,
    );
    const value = new Uint8Array(8 + item.length);
    const dv = new DataView(value.buffer);
    dv.setUint16(0, 0xfffe, true);
    dv.setUint16(2, 0xe000, true);
    dv.setUint32(4, item.length, true);
    value.set(item, 8);
    const file = buildFile(baseSpecs(), undefined, [{ tag: 0x00081140, vr: "UN", value }]);
    const r = ok(deidentify(file, { key: TEST_KEY }));
    const seq = find(readFile(r.output).dataset, 0x00081140);
    expect(seq?.vr).toBe("SQ");
    expect(val(seq?.items?.[0] ?? [], 0x00081155)).toBe(remapUid(TEST_KEY, "1.2.3.4.5.6.7"));
    expect(containsText(r.output, "1.2.3.4.5.6.7")).toBe(false);
  });

  it("drops items emptied by removals instead of leaving empty items", () => {
    const { ds } = run([
      ...baseSpecs(),
      [0x00081115, "SQ", [[[0x00101010, "AS", "059Y"]], [[0x00080100, "SH", "T-D3000"]]]],
    ]);
    expect(find(ds, 0x00081115)?.items?.length).toBe(1);
  });
});

describe("consistency across a study and across runs", () => {
  const file = (sop: string, series: string) => baseSpecs({ sop, series });
  it("same key: same patient pseudonym, study UID and date offset in every instance; another key differs", () => {
    const opts: DeidOptionName[] = ["RetainLongitudinalTemporalInformationModifiedDates"];
    const a = ok(deidentify(buildFile(file("1.2.3.100.1", "1.2.3.200.1")), { key: TEST_KEY, options: opts }));
    const b = ok(deidentify(buildFile(file("1.2.3.100.2", "1.2.3.200.2")), { key: TEST_KEY, options: opts }));
    const c = ok(
      deidentify(buildFile(file("1.2.3.100.1", "1.2.3.200.1")), { key: OTHER_KEY, options: opts }),
    );
    const da = readFile(a.output).dataset;
    const db = readFile(b.output).dataset;
    expect(a.pseudonyms.patient).toBe(b.pseudonyms.patient);
    expect(a.pseudonyms.study).toBe(b.pseudonyms.study);
    expect(a.pseudonyms.sop).not.toBe(b.pseudonyms.sop);
    expect(val(da, TAG.StudyDate)).toBe(val(db, TAG.StudyDate));
    expect(val(da, 0x00200052)).toBe(val(db, 0x00200052));
    expect(c.pseudonyms.patient).not.toBe(a.pseudonyms.patient);
    expect(c.pseudonyms.study).not.toBe(a.pseudonyms.study);
    // Deterministic across runs: byte-identical output for the same input and key.
    const again = ok(
      deidentify(buildFile(file("1.2.3.100.1", "1.2.3.200.1")), { key: TEST_KEY, options: opts }),
    );
    expect(Buffer.from(again.output).equals(Buffer.from(a.output))).toBe(true);
  });
});

describe("transfer syntaxes and framing", () => {
  for (const ts of [IMPLICIT_LE, EXPLICIT_BE, DEFLATED]) {
    it(`round-trips ${ts} in its own transfer syntax, readable by dcmjs`, () => {
      const { out, ts: outTs, ds } = run(baseSpecs(), [], ts);
      expect(outTs.uid).toBe(ts);
      expect(val(ds, TAG.Modality)).toBe("CT");
      expect(containsText(out.output, "SMITHSONIAN")).toBe(false);
      const d = readWithDcmjs(out.output);
      expect(d.ds.PatientIdentityRemoved).toBe("YES");
      expect(d.ds.Rows).toBe(4);
    });
  }

  it("big endian binary values are preserved", () => {
    const { ds } = run(baseSpecs(), [], EXPLICIT_BE);
    expect([...(find(ds, TAG.Rows)?.value ?? [])]).toEqual([...us(4, false)]);
  });

  it("quarantines multi-byte ISO 2022 character sets and reports no value", () => {
    const r = deidentify(buildFile(baseSpecs({ charset: "ISO 2022 IR 87" })), { key: TEST_KEY });
    expect(r.ok ? "" : r.code).toBe("UNSUPPORTED_CHARACTER_SET");
  });

  it("accepts UTF-8 (ISO_IR 192) and scrubs non-ASCII names byte-exactly", () => {
    const specs = baseSpecs({
      charset: "ISO_IR 192",
      name: "MÜLLER^JÖRG",
      studyDescription: "CT für MÜLLER",
    });
    const utf8 = specs.map(
      (s): Spec =>
        typeof s[2] === "string"
          ? [s[0], s[1], new Uint8Array(Buffer.from(s[2].length % 2 ? `${s[2]} ` : s[2], "utf8"))]
          : s,
    );
    const r = ok(deidentify(buildFile(utf8), { key: TEST_KEY, options: ["CleanDescriptors"] }));
    expect(Buffer.from(r.output).includes(Buffer.from("MÜLLER", "utf8"))).toBe(false);
  });

  it("quarantines garbage, truncation and DICOMDIR with stable codes and value-free reasons", () => {
    const garbage = deidentify(new TextEncoder().encode("hello, not dicom at all"), { key: TEST_KEY });
    expect(garbage.ok ? "" : garbage.code).toBe("NOT_DICOM");
    const file = buildFile(baseSpecs());
    const cut = deidentify(file.subarray(0, file.length - 40), { key: TEST_KEY });
    expect(cut.ok ? "" : cut.code).toBe("TRUNCATED");
    if (!cut.ok) expect(cut.reason).not.toMatch(/SMITHSONIAN|MRN/);
  });

  it("quarantines tags out of ascending order and explicit VRs that contradict the dictionary", () => {
    const file = buildFile(baseSpecs());
    // Patient's Name written with VR CS: a corrupt VR could disguise an identifier, so it is refused.
    const badVr = Buffer.from(file);
    const at = badVr.indexOf(Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e]));
    badVr.write("CS", at + 4, "latin1");
    const r1 = deidentify(badVr, { key: TEST_KEY });
    expect(r1.ok ? "" : r1.code).toBe("MALFORMED");
    // Swap Patient's Name to a tag lower than its predecessor: order violation.
    const swapped = Buffer.from(file);
    swapped.writeUInt16LE(0x0008, at);
    const r2 = deidentify(swapped, { key: TEST_KEY });
    expect(r2.ok ? "" : r2.code).toBe("MALFORMED");
  });

  it("quarantines files without SOP Instance UID", () => {
    const r = deidentify(buildFile(baseSpecs().filter((s) => s[0] !== TAG.SOPInstanceUID)), {
      key: TEST_KEY,
    });
    expect(r.ok ? "" : r.code).toBe("MISSING_REQUIRED_UID");
  });
});
