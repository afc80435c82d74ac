import { describe, expect, it } from "vitest";
import { flatten, fromBytes, fromHalf, fromJson, toBytes, toHalf, toJson } from "./datatypes.ts";

describe("datatypes", () => {
  it("converts FP16 both ways (rounding, subnormals, infinities)", () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(fromHalf(0x3555)).toBeCloseTo(1 / 3, 3);
    for (const v of [0, 0.5, -1.25, 1024, 2 ** -14, 3.140625]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(Number.isNaN(fromHalf(toHalf(Number.NaN)))).toBe(true);
  });

  it("checks integer ranges instead of wrapping", () => {
    expect(Array.from(fromJson("UINT8", [0, 255]) as Uint8Array)).toEqual([0, 255]);
    expect(() => fromJson("UINT8", [256])).toThrow(/out of range/);
    expect(() => fromJson("INT8", [-129])).toThrow(/out of range/);
    expect(() => fromJson("INT32", [1.5])).toThrow(/not an integer/);
    expect(Array.from(fromJson("INT64", [1, "-9223372036854775808"]) as BigInt64Array)).toEqual([
      1n,
      -(2n ** 63n),
    ]);
    expect(() => fromJson("UINT64", [-1])).toThrow(/out of range/);
    expect(Array.from(fromJson("BOOL", [true, false, 1]) as Uint8Array)).toEqual([1, 0, 1]);
    expect(() => fromJson("BOOL", [2])).toThrow(/boolean/);
  });

  it("keeps 64-bit integers exact in JSON and round-trips bytes", () => {
    expect(toJson("INT64", BigInt64Array.from([5n, 2n ** 60n]))).toEqual([5, "1152921504606846976"]);
    expect(toJson("BOOL", Uint8Array.from([1, 0]))).toEqual([true, false]);
    const words = ["a", "ünïcode", ""];
    expect(fromBytes("BYTES", toBytes(words))).toEqual(words);
    const f = Float32Array.from([1.5, -2]);
    const unaligned = new Uint8Array(9);
    unaligned.set(new Uint8Array(f.buffer), 1);
    expect(fromBytes("FP32", unaligned.subarray(1))).toEqual(f);
    expect(() => fromBytes("FP32", new Uint8Array(3))).toThrow(/multiple of 4/);
  });

  it("flattens nested data row-major", () => {
    expect(flatten([[[1, 2]], [[3, 4]]])).toEqual([1, 2, 3, 4]);
    expect(flatten([1, 2])).toEqual([1, 2]);
  });
});
