/**
 * Real files: every DICOM test file shipped in Debian's python3-pydicom (fetched and extracted on first use by
 * test/fixtures/pydicom.ts) is either de-identified or quarantined — none lost — and every output re-reads,
 * keeps its transfer syntax, keeps compressed pixel data byte-exact and passes `verify` without a leak.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pydicomTestFiles } from "../test/fixtures/pydicom.ts";
import { type Element, find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { deidentify } from "./engine.ts";
import { readWithDcmjs, TEST_KEY } from "./testing/build.ts";
import { mutate } from "./testing/fuzz-inputs.ts";
import { rng } from "./testing/random.ts";
import type { DeidOutcome } from "./types.ts";
import { str } from "./values.ts";
import { verifyBuffers } from "./verify.ts";

interface Case {
  name: string;
  input: Uint8Array;
  result: DeidOutcome;
}

let cases: Case[] = [];

beforeAll(async () => {
  const files = await pydicomTestFiles();
  cases = files.map((f) => {
    const input = new Uint8Array(readFileSync(f));
    return {
      name: f.split("test_files/")[1] ?? basename(f),
      input,
      result: deidentify(input, { key: TEST_KEY }),
    };
  });
}, 300_000);

function describeOutcome(r: DeidOutcome): string {
  return r.ok ? "ok" : `${r.code}: ${r.reason}`;
}

function fragments(ds: readonly Element[]): Uint8Array[] | undefined {
  return find(ds, TAG.PixelData)?.fragments;
}

describe("python3-pydicom test files", () => {
  it("are all either de-identified or quarantined with a code — none lost", () => {
    expect(cases.length).toBeGreaterThan(100);
    for (const c of cases) {
      expect(typeof c.result.ok, c.name).toBe("boolean");
      if (!c.result.ok) expect(c.result.code, c.name).toMatch(/^[A-Z_]+$/);
    }
    const ok = cases.filter((c) => c.result.ok).length;
    expect(ok).toBeGreaterThan(90);
  });

  it("de-identifies the common encodings: explicit/implicit LE, big endian, deflate, JPEG, JPEG 2000, JPEG-LS, RLE", () => {
    const expectOk = [
      "CT_small.dcm",
      "MR_small.dcm",
      "MR_small_implicit.dcm",
      "MR_small_bigendian.dcm",
      "MR_small_expb.dcm",
      "MR_small_RLE.dcm",
      "MR_small_jp2klossless.dcm",
      "MR_small_jpeg_ls_lossless.dcm",
      "693_J2KI.dcm",
      "MR_small_padded.dcm",
      "liver_expb_1frame.dcm",
      "rtdose_rle.dcm",
      "rtplan.dcm",
      "rtdose.dcm",
      "rtstruct.dcm",
      "test-SR.dcm",
      "waveform_ecg.dcm",
      "ExplVR_BigEndNoMeta.dcm",
    ];
    for (const name of expectOk) {
      const c = cases.find((x) => x.name === name);
      expect(c, name).toBeDefined();
      expect(c ? describeOutcome(c.result) : "missing", name).toBe("ok");
    }
  });

  it("keeps each output in the input's transfer syntax, with encapsulated fragments byte-exact", () => {
    for (const c of cases) {
      if (!c.result.ok) continue;
      const before = readFile(c.input);
      const after = readFile(c.result.output);
      expect(after.ts.uid, c.name).toBe(before.ts.uid);
      const fb = fragments(before.dataset);
      if (fb) {
        const fa = fragments(after.dataset) ?? [];
        expect(fa.length, c.name).toBe(fb.length);
        fb.forEach((f, i) => {
          expect(Buffer.from(fa[i] ?? []).equals(Buffer.from(f)), `${c.name} fragment ${i}`).toBe(true);
        });
      }
      expect(c.result.output.length, c.name).toBeLessThan(c.input.length * 1.3 + 70_000);
    }
  });

  it("outputs are read by an independent parser (dcmjs) with the conformance attributes set", () => {
    for (const c of cases) {
      if (!c.result.ok) continue;
      const { ds, meta } = readWithDcmjs(c.result.output);
      expect(ds.PatientIdentityRemoved, c.name).toBe("YES");
      expect(meta.MediaStorageSOPInstanceUID, c.name).toBe(ds.SOPInstanceUID);
      expect(String(ds.SOPInstanceUID), c.name).toMatch(/^2\.25\.[1-9][0-9]{0,38}$/);
    }
  });

  it("pass verify without a leak, and keep no patient name or ID bytes", () => {
    for (const c of cases) {
      if (!c.result.ok) continue;
      const v = verifyBuffers(c.input, c.result.output);
      expect(v.leaks, c.name).toEqual([]);
      expect(
        v.overRemoved.filter((l) => l.check === "pixels-retained"),
        c.name,
      ).toEqual([]);
      const orig = readFile(c.input).dataset;
      for (const tag of [TAG.PatientName, TAG.PatientID]) {
        const value = str(find(orig, tag));
        if (value.length >= 4)
          expect(
            Buffer.from(c.result.output).includes(Buffer.from(value, "latin1")),
            `${c.name} ${tag}`,
          ).toBe(false);
      }
    }
  });

  it("quarantines secondary capture / ultrasound without a mask, and de-identifies them with CleanPixelData + mask", () => {
    const c = cases.find((x) => x.name === "image_dfl.dcm");
    expect(c ? describeOutcome(c.result) : "missing").toMatch(/^BURNED_IN_ANNOTATION/);
    const input = c?.input ?? new Uint8Array();
    const ds = readFile(input);
    const le = ds.ts.littleEndian;
    const u16 = (tag: number) => {
      const v = find(ds.dataset, tag)?.value ?? new Uint8Array(2);
      return new DataView(v.buffer, v.byteOffset, 2).getUint16(0, le);
    };
    const mask = {
      rows: u16(TAG.Rows),
      columns: u16(TAG.Columns),
      rectangles: [{ x: 0, y: 0, width: 8, height: 2 }],
    };
    const r = deidentify(input, { key: TEST_KEY, options: ["CleanPixelData"], pixelMasks: [mask] });
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    const out = readFile(r.output);
    expect(out.ts.uid).toBe("1.2.840.10008.1.2.1.99");
    const px = find(out.dataset, TAG.PixelData)?.value ?? new Uint8Array();
    expect(px.subarray(0, 8).every((b) => b === 0)).toBe(true);
    expect(px.length).toBe(find(ds.dataset, TAG.PixelData)?.value.length);
  });

  it("quarantine reasons carry no patient values", () => {
    for (const c of cases) {
      if (c.result.ok) continue;
      let name = "";
      try {
        name = str(find(readFile(c.input).dataset, TAG.PatientName));
      } catch {
        continue;
      }
      if (name.length >= 3) expect(c.result.reason.includes(name), c.name).toBe(false);
    }
  });

  it("fuzz over real files: 1500 seeded mutations, no crash, never the original patient name or ID in an output", () => {
    const names = [
      "CT_small.dcm",
      "MR_small_implicit.dcm",
      "rtplan.dcm",
      "MR_small_bigendian.dcm",
      "test-SR.dcm",
      "rtstruct.dcm",
      "MR_small_RLE.dcm",
    ];
    const seeds = names.map((n) => {
      const c = cases.find((x) => x.name === n);
      if (!c) throw new Error(`missing ${n}`);
      const ds = readFile(c.input).dataset;
      const ids = [str(find(ds, TAG.PatientName)), str(find(ds, TAG.PatientID))].filter((x) => x.length >= 4);
      return { input: c.input, ids };
    });
    const r = rng(1500);
    let ok = 0;
    for (let n = 0; n < 1500; n++) {
      const seed = seeds[n % seeds.length] as (typeof seeds)[number];
      const result = deidentify(mutate(seed.input, r), { key: TEST_KEY });
      expect(result.ok ? "ok" : result.code, `mutation ${n}`).not.toBe("INTERNAL_ERROR");
      if (!result.ok) continue;
      ok++;
      const text = Buffer.from(result.output).toString("latin1");
      for (const id of seed.ids) expect(text.includes(id), `mutation ${n} kept an identifier`).toBe(false);
    }
    expect(ok).toBeGreaterThan(100);
  }, 60_000);
});
