import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PSEUDONYM_PATTERN } from "../crds/index.ts";
import { shiftDa, shiftDt, shiftMulti } from "./dates.ts";
import { KeyError, keyFromSecret, loadKey } from "./key.ts";
import { resolveCombined, rowFor, standardAction, tableAction } from "./profile/actions.ts";
import { TABLE_E1_1 } from "./profile/generated/table-e1-1.ts";
import { dateOffsetDays, keyedId, patientPseudonym, remapUid } from "./pseudonym.ts";
import { OTHER_KEY, TEST_KEY } from "./testing/build.ts";
import type { DeidOptionName } from "./types.ts";

const ctx = (...o: DeidOptionName[]) => ({ options: new Set(o) });

describe("generated Table E.1-1", () => {
  it("has all 621 rows with the Basic profile action counts of PS3.15 2024b", () => {
    expect(TABLE_E1_1.length).toBe(621);
    const counts: Record<string, number> = {};
    for (const r of TABLE_E1_1) counts[r.basic] = (counts[r.basic] ?? 0) + 1;
    expect(counts).toEqual({
      X: 384,
      D: 92,
      U: 54,
      Z: 42,
      "X/D": 22,
      "X/Z": 11,
      "X/Z/D": 8,
      "Z/D": 6,
      "X/Z/U*": 2,
    });
  });
  it("resolves repeating groups: curves 50xx, overlays 60xx3000/60xx4000", () => {
    expect(rowFor(0x50020010)?.name).toBe("Curve Data");
    expect(rowFor(0x601e3000)?.name).toBe("Overlay Data");
    expect(rowFor(0x60024000)?.name).toBe("Overlay Comments");
    expect(rowFor(0x60000010)).toBeUndefined();
    expect(rowFor(0x50210010)).toBeUndefined();
  });
});

describe("actions", () => {
  it("combined codes take the member valid for every IOD Type", () => {
    expect(resolveCombined("X/Z")).toBe("Z");
    expect(resolveCombined("X/D")).toBe("D");
    expect(resolveCombined("X/Z/D")).toBe("D");
    expect(resolveCombined("Z/D")).toBe("D");
    expect(resolveCombined("X/Z/U*")).toBe("U");
    for (const a of ["X", "Z", "D", "K", "C", "U"] as const) expect(resolveCombined(a)).toBe(a);
  });
  it("option columns override the Basic action; C wins over K", () => {
    const row = rowFor(0x0018700c); // Date of Last Detector Calibration: rtnDevIdOpt K, dates K/C
    expect(row && tableAction(row, ctx())).toBe("D");
    expect(row && tableAction(row, ctx("RetainDeviceIdentity"))).toBe("K");
    expect(
      row &&
        tableAction(row, ctx("RetainDeviceIdentity", "RetainLongitudinalTemporalInformationModifiedDates")),
    ).toBe("C");
  });
  it("unlisted attributes: group length, unknown, PN, free text, dates, UIDs, LO, codes", () => {
    expect(standardAction(0x00080000, "UL", ctx())).toBe("X");
    expect(standardAction(0x00080003, "LO", ctx())).toBe("X");
    expect(standardAction(0x00100011, "LO", ctx())).toBe("X");
    expect(standardAction(0x04000500, "SQ", ctx())).toBe("X");
    expect(standardAction(0x0040a160, "UT", ctx())).toBe("X");
    expect(standardAction(0x0040a160, "UT", ctx("CleanStructuredContent"))).toBe("C");
    expect(standardAction(0x00181012, "DA", ctx())).toBe("X");
    expect(standardAction(0x00181012, "DA", ctx("RetainLongitudinalTemporalInformationModifiedDates"))).toBe(
      "C",
    );
    expect(standardAction(0x00081150, "UI", ctx())).toBe("K");
    expect(standardAction(0x00080104, "LO", ctx())).toBe("C");
    expect(standardAction(0x00080060, "CS", ctx())).toBe("K");
    expect(standardAction(0x00081115, "SQ", ctx())).toBe("K");
  });
});

describe("pseudonyms", () => {
  it("UIDs: 2.25.<decimal of 128 bits>, no leading zero, ≤ 39 digits, deterministic per key", () => {
    for (let i = 0; i < 500; i++) {
      const u = remapUid(TEST_KEY, `1.2.3.${i}`);
      expect(u).toMatch(/^2\.25\.(0|[1-9][0-9]{0,38})$/);
      expect(BigInt(u.slice(5))).toBeLessThan(2n ** 128n);
      expect(u.length).toBeLessThanOrEqual(64);
    }
    expect(remapUid(TEST_KEY, "1.2.3")).toBe(remapUid(TEST_KEY, "1.2.3"));
    expect(remapUid(TEST_KEY, "1.2.3")).not.toBe(remapUid(OTHER_KEY, "1.2.3"));
  });
  it("never remaps well-known DICOM UIDs", () => {
    expect(remapUid(TEST_KEY, "1.2.840.10008.5.1.4.1.1.2")).toBe("1.2.840.10008.5.1.4.1.1.2");
  });
  it("patient pseudonym has the ConsentRecord form and depends on the key", () => {
    const p = patientPseudonym(TEST_KEY, "MRN1");
    expect(p).toMatch(PSEUDONYM_PATTERN);
    expect(p).not.toBe(patientPseudonym(OTHER_KEY, "MRN1"));
  });
  it("keyed IDs fit their VR; date offsets are per patient, in the past, never zero", () => {
    expect(keyedId(TEST_KEY, "accession", "A1", "A", 16)).toMatch(/^A[0-9A-F]{15}$/);
    const offsets = Array.from({ length: 200 }, (_, i) => dateOffsetDays(TEST_KEY, `P${i}`));
    for (const o of offsets) expect(o >= -3650 && o <= -1).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(150);
    expect(dateOffsetDays(TEST_KEY, "P1")).toBe(dateOffsetDays(TEST_KEY, "P1"));
  });
});

describe("dates", () => {
  it("shifts DA across month and leap-year boundaries, keeps DT precision, time and offset", () => {
    expect(shiftDa("20240301", -1)).toBe("20240229");
    expect(shiftDa("2024.03.01", -1)).toBe("20240229");
    expect(shiftDa("20241340", -1)).toBeUndefined();
    expect(shiftDt("20240301101500.123+0100", -1)).toBe("20240229101500.123+0100");
    expect(shiftDt("2024", -400)).toBe("2022");
    expect(shiftMulti("20240301\\20240302", "DA", -1)).toBe("20240229\\20240301");
    expect(shiftMulti("garbage", "DA", -1)).toBeUndefined();
  });
});

describe("key loading", () => {
  it("from a file with a version file beside it, from env, from a mounted Secret dir; refuses short keys", async () => {
    const dir = await mkdtemp(join(tmpdir(), "deid-key-"));
    try {
      await writeFile(join(dir, "key"), "k".repeat(40));
      await writeFile(join(dir, "version"), "2025-01");
      expect(loadKey({ file: join(dir, "key"), env: {} }).version).toBe("2025-01");
      expect(loadKey({ env: { MEDMLOPS_DEID_KEY_DIR: dir } }).version).toBe("2025-01");
      const secretDir = await mkdtemp(join(tmpdir(), "deid-secret-"));
      await writeFile(join(secretDir, "hmac-key"), "h".repeat(40));
      expect(loadKey({ env: { MEDMLOPS_DEID_KEY_DIR: secretDir } }).secret.length).toBe(40);
      await rm(secretDir, { recursive: true, force: true });
      const fromEnv = loadKey({ env: { MEDMLOPS_DEID_KEY: "e".repeat(40) } });
      expect(fromEnv.version).toMatch(/^fp-[0-9a-f]{12}$/);
      expect(() => loadKey({ env: { MEDMLOPS_DEID_KEY: "short" } })).toThrow(KeyError);
      expect(() => loadKey({ env: { MEDMLOPS_DEID_KEY_DIR: join(dir, "none") } })).toThrow(KeyError);
      expect(keyFromSecret("s".repeat(40)).version).not.toContain("s".repeat(8));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
