/**
 * Character sets against an independent decoder: pydicom's reading of every text element of pydicom's own
 * character-set test files (Japanese ISO 2022 IR 13/87, Korean IR 149, Chinese GB18030 and UTF-8, Arabic,
 * Greek, Hebrew, Russian, Latin-1, code extensions in sequence items) must equal ours; our re-encoding
 * round-trips; and de-identified Japanese/Korean/Chinese files keep no part of the patient's name — checked
 * by decoding the outputs with pydicom, not with our own code.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pydicomCharsetFiles, pydicomTestFiles } from "../test/fixtures/pydicom.ts";
import {
  asciiGlyph,
  type Charset,
  charsetOf,
  DEFAULT_CHARSET,
  decodeGlyphs,
  encodeGlyphs,
  parseCharset,
  textOf,
} from "./charset.ts";
import { type Element, TAG } from "./dicom/element.ts";
import { readFile } from "./dicom/reader.ts";
import { dictionaryVr } from "./dicom/vr.ts";
import { deidentify } from "./engine.ts";
import { baseSpecs, buildFile, TEST_KEY } from "./testing/build.ts";
import { type PydicomText, pydicomText } from "./testing/pydicom-oracle.ts";

const TEXT_VRS = new Set(["SH", "LO", "ST", "LT", "PN", "UC", "UT"]);

/** pydicom trims values and drops empty trailing name groups ("Wang^XiaoDong=王^小東=" → without the "="). */
function norm(s: string, vr = ""): string {
  return s
    .split("\\")
    .map((v) => v.replace(/[\0 ]+$/, "").replace(/^ +/, ""))
    .map((v) => (vr === "PN" ? v.replace(/=+$/, "") : v))
    .join("\\");
}

function ourText(
  ds: readonly Element[],
  inherited: Charset,
  prefix = "",
): [string, string, string, string][] {
  const cs = charsetOf(ds, inherited);
  const out: [string, string, string, string][] = [];
  for (const e of ds) {
    if ((e.tag >>> 16) % 2 === 1) continue;
    const tag = e.tag.toString(16).toUpperCase().padStart(8, "0");
    if (e.items) {
      e.items.forEach((item, i) => {
        out.push(...ourText(item, cs, `${prefix}${tag}[${i}]/`));
      });
      continue;
    }
    const vr = dictionaryVr(e.tag) ?? e.vr;
    if (!TEXT_VRS.has(vr)) continue;
    out.push([prefix, tag, vr, norm(textOf(e, cs, vr), vr)]);
  }
  return out;
}

let files: string[] = [];
let oracle: PydicomText = {};

beforeAll(async () => {
  const all = [...(await pydicomCharsetFiles()), ...(await pydicomTestFiles())];
  files = all.filter((f) => {
    try {
      const ds = readFile(new Uint8Array(readFileSync(f))).dataset;
      return JSON.stringify(ourText(ds, DEFAULT_CHARSET)).length > 2;
    } catch {
      return false; // quarantined for other reasons (truncated, not DICOM): not a character-set question
    }
  });
  oracle = pydicomText(files);
}, 300_000);

describe("decoding, compared with pydicom", () => {
  it("decodes every text element of every readable pydicom test file exactly as pydicom does", () => {
    expect(files.some((f) => f.endsWith("chrH32.dcm"))).toBe(true);
    let compared = 0;
    for (const f of files) {
      const ours = ourText(readFile(new Uint8Array(readFileSync(f))).dataset, DEFAULT_CHARSET);
      const theirs = (oracle[f] ?? []).map(([p, t, vr, text]) => [p, t, vr, norm(text, vr)]);
      expect(ours, basename(f)).toEqual(theirs);
      compared += ours.length;
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("re-encodes every decoded value to bytes that decode to the same text (and X-replacements to the edit)", () => {
    for (const f of files) {
      const walk = (ds: readonly Element[], inherited: Charset) => {
        const cs = charsetOf(ds, inherited);
        for (const e of ds) {
          if (e.items) for (const item of e.items) walk(item, cs);
          const vr = dictionaryVr(e.tag) ?? e.vr;
          if (!TEXT_VRS.has(vr) || e.items) continue;
          const glyphs = decodeGlyphs(e.value, cs, vr);
          const text = glyphs.map((g) => g.text).join("");
          expect(
            decodeGlyphs(encodeGlyphs(glyphs, cs), cs, vr)
              .map((g) => g.text)
              .join(""),
            basename(f),
          ).toBe(text);
          // Replace every other non-delimiter character with X: the decoded result must show exactly that.
          const edited = glyphs.map((g, i) => (i % 2 === 0 && !g.delimiter ? asciiGlyph("X", cs) : g));
          const want = edited.map((g) => g.text).join("");
          expect(
            decodeGlyphs(encodeGlyphs(edited, cs), cs, vr)
              .map((g) => g.text)
              .join(""),
            basename(f),
          ).toBe(want);
        }
      };
      walk(readFile(new Uint8Array(readFileSync(f))).dataset, DEFAULT_CHARSET);
    }
  });

  it("refuses what it cannot decode with certainty", () => {
    expect(() => parseCharset("ISO 2022 IR 87")).toThrow(/not supported/); // multi-byte set as the initial one
    expect(() => parseCharset("ISO_IR 999")).toThrow(/not supported/);
    expect(() => parseCharset("ISO_IR 100\\ISO_IR 144")).toThrow(/not supported/);
    const jp = parseCharset("\\ISO 2022 IR 87");
    // ESC $ B followed by a lone byte: a kanji cut in half.
    expect(() => decodeGlyphs(new Uint8Array([0x1b, 0x24, 0x42, 0x3b]), jp, "LO")).toThrow(/cut short/);
    expect(() => decodeGlyphs(new Uint8Array([0x1b, 0x24, 0x5a, 0x41]), jp, "LO")).toThrow(/escape/);
  });
});

describe("de-identifying Japanese, Korean and Chinese files", () => {
  const FULL_MASK = { rows: 32, columns: 32, rectangles: [{ x: 0, y: 0, width: 32, height: 32 }] };

  it("removes every part of the patient's name (pydicom reads the outputs)", () => {
    const cjk = files.filter((f) =>
      /chr(H31|H32|I2|X1|X2|JapMulti|JapMultiExplicitIR6|KoreanMulti)\.dcm$/.test(f),
    );
    expect(cjk.length).toBe(8);
    const dir = mkdtempSync(join(tmpdir(), "deid-charset-"));
    const outputs: string[] = [];
    const names = new Map<string, string[]>();
    for (const f of cjk) {
      // The 32×32 secondary captures need Clean Pixel Data; a full-frame mask stands in for the text detector.
      const r = deidentify(new Uint8Array(readFileSync(f)), {
        key: TEST_KEY,
        options: ["CleanDescriptors", "CleanPixelData"],
        pixelMasks: [FULL_MASK],
      });
      if (!r.ok) throw new Error(`${basename(f)}: ${r.code} ${r.reason}`);
      const out = join(dir, basename(f));
      writeFileSync(out, r.output);
      outputs.push(out);
      const parts = (oracle[f] ?? [])
        .filter(([, , vr]) => vr === "PN")
        .flatMap(([, , , text]) => text.split(/[\\^=]/))
        .filter((p) => p.length >= 2);
      names.set(out, parts);
      expect(
        parts.some((p) => /[\u3040-\u9fff\uac00-\ud7af\uff61-\uff9f]/.test(p)),
        basename(f),
      ).toBe(true);
    }
    const decoded = pydicomText(outputs);
    for (const out of outputs) {
      const all = (decoded[out] ?? []).map(([, , , t]) => t).join("\n");
      for (const part of names.get(out) ?? [])
        expect(all.includes(part), `${basename(out)}: ${part}`).toBe(false);
    }
  });

  it("scrubs a kanji name out of kept text in ISO 2022 IR 87, leaving the rest decodable by pydicom", () => {
    const jis = (s: string) => Buffer.from(s, "latin1");
    // 山田^太郎 in JIS X 0208 (ESC $ B … ESC ( B), and a description mentioning 山田 between ASCII words.
    const yamada = Buffer.concat([jis("\x1b$B"), Buffer.from([0x3b, 0x33, 0x45, 0x44]), jis("\x1b(B")]);
    const taro = Buffer.concat([jis("\x1b$B"), Buffer.from([0x42, 0x40, 0x4f, 0x3a]), jis("\x1b(B")]);
    const name = Buffer.concat([jis("Yamada^Taro="), yamada, jis("^"), taro]);
    const description = Buffer.concat([jis("CT "), yamada, jis(" chest")]);
    const pad = (b: Buffer) => new Uint8Array(b.length % 2 ? Buffer.concat([b, jis(" ")]) : b);
    const specs = baseSpecs({ charset: "\\ISO 2022 IR 87", name: "" }).map((s) => {
      if (s[0] === TAG.PatientName) return [s[0], s[1], pad(name)] as typeof s;
      if (s[0] === 0x00081030) return [s[0], s[1], pad(description)] as typeof s;
      return s;
    });
    const r = deidentify(buildFile(specs), { key: TEST_KEY, options: ["CleanDescriptors"] });
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    const dir = mkdtempSync(join(tmpdir(), "deid-jis-"));
    const out = join(dir, "out.dcm");
    writeFileSync(out, r.output);
    const text = new Map((pydicomText([out])[out] ?? []).map(([p, t, , v]) => [`${p}${t}`, v]));
    expect(text.get("00081030")).toBe("CT XX chest");
    expect([...text.values()].join("\n")).not.toMatch(/山田|太郎|YAMADA|Yamada/);
  });

  it("still quarantines an undecodable multi-byte value", () => {
    const bad = new Uint8Array(Buffer.from("\x1b$B;3E", "latin1")); // 山 then half of 田
    const specs = baseSpecs({ charset: "\\ISO 2022 IR 87" }).map((s) =>
      s[0] === 0x00081030 ? ([s[0], s[1], bad] as typeof s) : s,
    );
    const r = deidentify(buildFile(specs), { key: TEST_KEY, options: ["CleanDescriptors"] });
    expect(r.ok ? "ok" : r.code).toBe("UNSUPPORTED_CHARACTER_SET");
  });
});
