import { describe, expect, it } from "vitest";
import { decodePackBits, decodeRleFrame, encodePackBits, encodeRleFrame } from "./rle.ts";

describe("RLE", () => {
  it("decodes the PackBits reference vector (Apple TN1023)", () => {
    const src = Uint8Array.from([
      0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa,
    ]);
    const out = new Uint8Array(24);
    decodePackBits(src, 0, src.length, out);
    expect(Array.from(out)).toEqual([
      0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, 0xaa, 0xaa, 0xaa,
      0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    ]);
  });

  it("round-trips 8/16/32-bit and 3-sample frames through the segment layout", () => {
    for (const [bits, samples] of [
      [8, 1],
      [16, 1],
      [16, 3],
      [32, 1],
    ] as const) {
      const pixels = 37 * 11;
      const max = 2 ** bits;
      const data = Array.from({ length: pixels * samples }, (_, i) =>
        i % 7 === 0 ? 0 : (i * 2654435761) % max,
      );
      const frame = encodeRleFrame(data, pixels, samples, bits);
      const back = decodeRleFrame(frame, 37, 11, samples, bits);
      expect(Array.from(back)).toEqual(data);
    }
  });

  it("rejects malformed frames instead of reading out of bounds", () => {
    expect(() => decodeRleFrame(new Uint8Array(10), 2, 2, 1, 8)).toThrow(/header/);
    const bad = encodeRleFrame([1, 2, 3, 4], 4, 1, 16);
    expect(() => decodeRleFrame(bad, 2, 2, 1, 8)).toThrow(/segments/);
    const truncated = encodePackBits(Uint8Array.from([1, 2, 3]));
    const out = new Uint8Array(10);
    decodePackBits(truncated, 0, truncated.length, out);
    expect(Array.from(out.subarray(0, 3))).toEqual([1, 2, 3]);
  });
});
