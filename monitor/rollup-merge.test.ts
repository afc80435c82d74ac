import { describe, expect, it } from "vitest";
import { addNumericDelta } from "./rollup-merge.ts";
import { addValue, emptySummary, mergeSummaries } from "./stats/index.ts";

describe("addNumericDelta", () => {
  it("adds a positive delta exactly as merging the two windows' summaries", () => {
    const edges = [0, 1, 2];
    const a = emptySummary(edges);
    const b = emptySummary(edges);
    for (const x of [-1, 0.5, 0.7, 3]) addValue(a, x);
    for (const x of [1.5, -4, 9]) addValue(b, x);
    const m = addNumericDelta(a, b);
    const want = mergeSummaries(a, b);
    expect(m).toEqual({
      counts: want.counts,
      sums: want.sums,
      n: 7,
      sum: want.sum,
      sumSq: want.sumSq,
      min: -4,
      max: 9,
    });
  });

  it("subtracts an erasing (negative) delta and keeps min and max", () => {
    const stored = { counts: [2, 1], sums: [1, 5], n: 3, sum: 6, sumSq: 26, min: 0.25, max: 5 };
    const delta = { counts: [0, -1], sums: [0, -5], n: -1, sum: -5, sumSq: -25, min: 5, max: 5 };
    expect(addNumericDelta(stored, delta)).toEqual({
      counts: [2, 0],
      sums: [1, 0],
      n: 2,
      sum: 1,
      sumSq: 1,
      min: 0.25,
      max: 5,
    });
  });

  it("refuses rows on a different number of bins", () => {
    const s = { counts: [1], sums: [1], n: 1, sum: 1, sumSq: 1, min: 1, max: 1 };
    expect(() => addNumericDelta(s, { ...s, counts: [1, 0], sums: [1, 0] })).toThrow(RangeError);
  });
});
