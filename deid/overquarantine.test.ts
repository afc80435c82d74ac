/**
 * Over-quarantine fixes of issue 15: SOP UIDs taken from the file meta when the data set lacks them (and said so),
 * reason texts that describe the file, and images too small to carry legible burned-in text.
 */
import { describe, expect, it } from "vitest";
import { type Element, find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { writePart10 } from "./dicom/writer.ts";
import { transferSyntax, type TransferSyntax } from "./dicom/element.ts";
import { deidentify } from "./engine.ts";
import { tooSmallForText } from "./pixels.ts";
import { remapUid } from "./pseudonym.ts";
import { baseSpecs, buildFile, el, TEST_KEY, us } from "./testing/build.ts";
import { encode, str } from "./values.ts";

const SC = "1.2.840.10008.5.1.4.1.1.7";
const META_SOP = "1.2.826.0.1.3680043.2.1125.9.77";
const EXPLICIT = transferSyntax("1.2.840.10008.1.2.1") as TransferSyntax;

function fileWithMeta(ds: Element[], meta: Record<number, string>): Uint8Array {
  const metaEls: Element[] = [
    { tag: TAG.FileMetaVersion, vr: "OB", value: new Uint8Array([0, 1]) },
    ...Object.entries(meta).map(([t, v]) => ({ tag: Number(t), vr: "UI", value: encode(v, "UI") })),
  ].sort((a, b) => a.tag - b.tag);
  return writePart10(
    metaEls,
    ds.sort((a, b) => a.tag - b.tag),
    EXPLICIT,
    4096,
  );
}

describe("SOP UIDs", () => {
  const withoutSop = () =>
    baseSpecs()
      .filter((s) => s[0] !== TAG.SOPInstanceUID && s[0] !== TAG.SOPClassUID)
      .map((s) => el(...s));

  it("takes SOP Class/Instance UID from the file meta when the data set lacks them, and says so", () => {
    const input = fileWithMeta(withoutSop(), {
      [TAG.MediaStorageSOPClassUID]: "1.2.840.10008.5.1.4.1.1.2",
      [TAG.MediaStorageSOPInstanceUID]: META_SOP,
      [TAG.TransferSyntaxUID]: EXPLICIT.uid,
    });
    const r = deidentify(input, { key: TEST_KEY });
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    const out = readFile(r.output);
    expect(str(find(out.dataset, TAG.SOPClassUID))).toBe("1.2.840.10008.5.1.4.1.1.2");
    expect(str(find(out.dataset, TAG.SOPInstanceUID))).toBe(remapUid(TEST_KEY, META_SOP));
    expect(str(find(out.meta, TAG.MediaStorageSOPInstanceUID))).toBe(remapUid(TEST_KEY, META_SOP));
    expect(r.warnings.join("\n")).toMatch(
      /SOP Class UID and SOP Instance UID missing from the data set: taken from the file meta/,
    );
  });

  it("still quarantines when neither the data set nor the file meta has them", () => {
    const input = fileWithMeta(withoutSop(), { [TAG.TransferSyntaxUID]: EXPLICIT.uid });
    const r = deidentify(input, { key: TEST_KEY });
    expect(r.ok ? "ok" : `${r.code}: ${r.reason}`).toBe(
      "MISSING_REQUIRED_UID: SOP Class UID missing from the data set and the file meta",
    );
  });
});

describe("reason texts", () => {
  it("a file with a DICM prefix is never reported as having none", () => {
    const junk = [{ tag: 0x00010001, vr: "UN", value: new Uint8Array(8) }];
    const input = fileWithMeta(junk, { [TAG.MediaStorageSOPInstanceUID]: META_SOP });
    // Group 0001 is no plausible first group (like pydicom's meta_missing_tsyntax.dcm).
    const r = deidentify(input, { key: TEST_KEY });
    expect(r.ok ? "ok" : r.code).toBe("NOT_DICOM");
    if (!r.ok) expect(r.reason).toBe("file meta without a transfer syntax and no recognisable data set");
    const garbage = deidentify(new TextEncoder().encode("hello, not dicom at all"), { key: TEST_KEY });
    expect(garbage.ok ? "" : garbage.reason).toBe("no DICM prefix and no recognisable data set");
  });
});

describe("images too small for legible text", () => {
  const sc = (rows: number, columns: number) =>
    buildFile(
      baseSpecs({ modality: "OT" }).map((s) => {
        if (s[0] === TAG.SOPClassUID) return [s[0], s[1], SC] as typeof s;
        if (s[0] === TAG.Rows) return [s[0], s[1], us(rows)] as typeof s;
        if (s[0] === TAG.Columns) return [s[0], s[1], us(columns)] as typeof s;
        if (s[0] === TAG.PixelData) return [s[0], s[1], new Uint8Array(rows * columns * 2)] as typeof s;
        return s;
      }),
    );

  it("the threshold: one line of four 6×8 font cells must fit, either way round", () => {
    expect(tooSmallForText(3, 3)).toBe(true);
    expect(tooSmallForText(7, 512)).toBe(true);
    expect(tooSmallForText(23, 23)).toBe(true);
    expect(tooSmallForText(8, 24)).toBe(false);
    expect(tooSmallForText(24, 8)).toBe(false);
    expect(tooSmallForText(32, 32)).toBe(false);
  });

  it("releases a 3×3 secondary capture, still quarantines a 32×32 one without a check", () => {
    const tiny = deidentify(sc(3, 3), { key: TEST_KEY });
    expect(tiny.ok ? "ok" : tiny.code).toBe("ok");
    const small = deidentify(sc(32, 32), { key: TEST_KEY });
    expect(small.ok ? "ok" : small.code).toBe("BURNED_IN_ANNOTATION");
  });

  it("BurnedInAnnotation YES is honoured at any size", () => {
    const input = buildFile(
      baseSpecs().map((s) => s),
      undefined,
      [el(TAG.BurnedInAnnotation, "CS", "YES")],
    );
    const r = deidentify(input, { key: TEST_KEY });
    expect(r.ok ? "ok" : r.code).toBe("BURNED_IN_ANNOTATION");
  });
});
