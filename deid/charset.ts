/**
 * Specific Character Set (0008,0005) support. We only ever write ASCII into values (dummies, UIDs, pseudonyms,
 * dates) and scrub identifiers byte-wise, which is correct for single-byte character sets (ASCII in G0) and for
 * UTF-8 (ISO_IR 192: ASCII bytes never occur inside multi-byte characters). Multi-byte ISO 2022 sets (Japanese
 * kanji, Korean, Chinese) and GB18030/GBK can hide ASCII-looking bytes inside characters, so files using them
 * are quarantined rather than half-understood.
 */
import type { Element } from "./dicom/element.ts";
import { TAG } from "./dicom/element.ts";
import { DeidError } from "./dicom/errors.ts";
import { str } from "./values.ts";

const SINGLE_BYTE = ["6", "100", "101", "109", "110", "144", "127", "126", "138", "148", "203", "166", "13"];
const SUPPORTED = new Set<string>([
  "",
  "ISO_IR 192",
  ...SINGLE_BYTE.map((n) => `ISO_IR ${n}`),
  ...SINGLE_BYTE.map((n) => `ISO 2022 IR ${n}`),
]);

/** Throws UNSUPPORTED_CHARACTER_SET if any (0008,0005), at any depth, names a set we do not handle. */
export function checkCharacterSets(ds: readonly Element[]): void {
  for (const e of ds) {
    if (e.tag === TAG.SpecificCharacterSet) {
      for (const term of str(e).split("\\")) {
        const t = term.trim();
        if (!SUPPORTED.has(t)) {
          // Echo the term only when it has the shape of a defined term: a corrupt element could hold anything.
          const shown = /^(ISO_IR \d+|ISO 2022 IR \d+|GB18030|GBK)$/.test(t)
            ? `"${t}"`
            : "an unrecognised term";
          throw new DeidError("UNSUPPORTED_CHARACTER_SET", `character set ${shown} is not supported`);
        }
      }
    }
    if (e.items) for (const item of e.items) checkCharacterSets(item);
  }
}
