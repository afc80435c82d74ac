/** Fuzz inputs: seed files with planted identifiers and seeded mutations of them. */
import { baseSpecs, buildFile, type Spec } from "./build.ts";
import { int } from "./random.ts";

export const PLANTED = ["QZPLANTEDFAMILY", "QZPLANTEDGIVEN", "QZPLANTID77", "QZPLANTACC"];

export function seedFile(tsUid: string): Uint8Array {
  const specs: Spec[] = [
    ...baseSpecs({
      name: "QZPLANTEDFAMILY^QZPLANTEDGIVEN",
      patientId: "QZPLANTID77",
      accession: "QZPLANTACC",
    }),
    [
      0x00081115,
      "SQ",
      [
        [
          [
            0x0040a730,
            "SQ",
            [
              [
                [0x0040a123, "PN", "QZPLANTEDFAMILY^X"],
                [0x0040a160, "UT", "QZPLANTEDGIVEN said"],
              ],
            ],
          ],
        ],
      ],
    ],
    [0x00091010, "LO", "ACME"],
    [0x00091001, "LO", "QZPLANTEDFAMILY"],
    [0x00101001, "PN", "QZPLANTEDFAMILY^ALIAS"],
  ];
  return buildFile(specs, tsUid);
}

export function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  switch (int(r, 0, 5)) {
    case 0: {
      for (let i = int(r, 1, 8); i > 0; i--) {
        const at = int(r, 0, b.length - 1);
        b[at] = (b[at] ?? 0) ^ (1 << int(r, 0, 7));
      }
      return b;
    }
    case 1:
      return b.subarray(0, int(r, 0, b.length));
    case 2: {
      const at = int(r, 0, b.length);
      const junk = Uint8Array.from({ length: int(r, 1, 16) }, () => int(r, 0, 255));
      return Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
    }
    case 3: {
      const from = int(r, 0, b.length - 1);
      const to = Math.min(b.length, from + int(r, 1, 64));
      const at = int(r, 0, b.length);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(from, to), ...b.subarray(at)]);
    }
    case 4: {
      const from = int(r, 0, b.length - 1);
      b.fill(int(r, 0, 1) === 0 ? 0 : 0xff, from, Math.min(b.length, from + int(r, 1, 12)));
      return b;
    }
    default: {
      // Rewrite one length field-ish position with a random 16/32-bit value.
      const at = int(r, 132, Math.max(132, b.length - 4));
      const dv = new DataView(b.buffer);
      if (at + 4 <= b.length) dv.setUint32(at, int(r, 0, 0xffffffff) >>> 0, true);
      return b;
    }
  }
}
