/**
 * Property: under default options (Basic profile), no value of an attribute whose action is X, Z, D or U —
 * at the top level or inside a sequence — survives anywhere in the output. Values are random and unique per
 * case, so any occurrence in the output is a leak, not a coincidence.
 */
import { describe, expect, it } from "vitest";
import { find, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { dictionaryVr } from "./dicom/vr.ts";
import { deidentify } from "./engine.ts";
import { resolveCombined } from "./profile/actions.ts";
import { TABLE_E1_1 } from "./profile/generated/table-e1-1.ts";
import { baseSpecs, buildFile, type Spec, TEST_KEY } from "./testing/build.ts";
import { int, letters, rng } from "./testing/random.ts";
import { str } from "./values.ts";

const TEXT_VRS = new Set(["AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"]);
const BASE_TAGS = new Set(baseSpecs().map((s) => s[0]));

/** Table rows with a single-tag, string-valued attribute whose Basic action removes or replaces it. */
const CANDIDATES = TABLE_E1_1.filter((r) => /^[0-9A-F]{8}$/.test(r.tag))
  .map((r) => ({ tag: Number.parseInt(r.tag, 16) >>> 0, action: resolveCombined(r.basic) }))
  .map((r) => ({ ...r, vr: dictionaryVr(r.tag) ?? "" }))
  .filter((r) => ["X", "Z", "D", "U"].includes(r.action))
  .filter((r) => (TEXT_VRS.has(r.vr) || ["DA", "DT", "TM", "UI"].includes(r.vr)) && r.tag >>> 16 !== 0x0002)
  .filter((r) => r.tag >>> 16 !== 0x0000 && !BASE_TAGS.has(r.tag) && r.tag !== TAG.SpecificCharacterSet);

function randomValue(vr: string, r: () => number): string {
  switch (vr) {
    case "DA":
      return `${int(r, 1930, 2024)}${String(int(r, 1, 12)).padStart(2, "0")}${String(int(r, 1, 28)).padStart(2, "0")}`;
    case "DT":
      return `${int(r, 1930, 2024)}${String(int(r, 1, 12)).padStart(2, "0")}${String(int(r, 1, 28)).padStart(2, "0")}${String(int(r, 0, 23)).padStart(2, "0")}${String(int(r, 0, 59)).padStart(2, "0")}`;
    case "TM":
      return `${String(int(r, 0, 23)).padStart(2, "0")}${String(int(r, 0, 59)).padStart(2, "0")}${String(int(r, 0, 59)).padStart(2, "0")}.${int(r, 100000, 999999)}`;
    case "UI":
      return `1.2.826.0.1.3680043.9.${int(r, 1, 99999)}.${int(r, 100000, 999999999)}`;
    case "AE":
    case "CS":
    case "SH":
      return `QZ${letters(r, 10)}`;
    case "PN":
      return `QZ${letters(r, 8)}^QZ${letters(r, 6)}`;
    default:
      return `QZ ${letters(r, 12)} QZ${letters(r, 8)}`;
  }
}

/** Every value of the output as text (what a reader of the file could see), pixel data excluded. */
function outputValues(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const walk = (ds: ReturnType<typeof readFile>["dataset"]) => {
    for (const e of ds) {
      if (e.items) e.items.forEach(walk);
      else if (e.tag !== TAG.PixelData) out.push(str(e));
    }
  };
  const parsed = readFile(bytes);
  walk(parsed.meta);
  walk(parsed.dataset);
  return out;
}

describe("property: X/Z/D/U values never survive (Basic profile)", () => {
  it("holds for 300 random instances, top level and inside sequences", () => {
    expect(CANDIDATES.length).toBeGreaterThan(200);
    const r = rng(7050);
    for (let n = 0; n < 300; n++) {
      const picked = new Map<number, { vr: string; value: string }>();
      for (let k = 0; k < 25; k++) {
        const c = CANDIDATES[int(r, 0, CANDIDATES.length - 1)];
        if (c && !picked.has(c.tag)) picked.set(c.tag, { vr: c.vr, value: randomValue(c.vr, r) });
      }
      const entries = [...picked];
      const top: Spec[] = entries.slice(0, 15).map(([tag, v]) => [tag, v.vr, v.value]);
      const nested: Spec[] = entries.slice(15).map(([tag, v]) => [tag, v.vr, v.value]);
      // Unlisted sequence (Derivation Code Sequence), two levels deep, holding the rest.
      const specs: Spec[] = [...baseSpecs(), ...top, [0x00089215, "SQ", [[[0x00081115, "SQ", [nested]]]]]];
      const result = deidentify(buildFile(specs), { key: TEST_KEY });
      if (!result.ok) throw new Error(`case ${n}: ${result.code} ${result.reason}`);
      const values = outputValues(result.output);
      const raw = Buffer.from(result.output).toString("latin1");
      for (const [tag, v] of entries) {
        const leaked =
          v.vr === "UI"
            ? values.some((x) => x.split("\\").includes(v.value))
            : values.some((x) => x.includes(v.value));
        expect(leaked, `case ${n}: value of ${tag.toString(16)} (${v.vr}) survived`).toBe(false);
        if (TEXT_VRS.has(v.vr))
          expect(raw.includes(v.value), `case ${n}: bytes of ${tag.toString(16)}`).toBe(false);
      }
      expect(find(readFile(result.output).dataset, TAG.PatientIdentityRemoved)).toBeDefined();
    }
  }, 60_000);
});
