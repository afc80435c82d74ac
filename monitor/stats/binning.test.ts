import { describe, expect, it } from "vitest";
import { binIndex, DEFAULT_BINS, nextDown, referenceEdges } from "./binning.ts";
import { mergeSummaries, summarize, summaryStd } from "./summary.ts";

describe("referenceEdges", () => {
  it("cuts at inverted-CDF quantiles: 1..100 into 4 bins gives 25, 50, 75", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(referenceEdges(values, 4)).toEqual([25, 50, 75]);
  });

  it("gives DEFAULT_BINS - 1 edges on untied data, each bin holding 1/DEFAULT_BINS of the reference", () => {
    const values = Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 1000);
    const edges = referenceEdges(values);
    expect(edges).toHaveLength(DEFAULT_BINS - 1);
    const s = summarize(edges, values);
    for (const c of s.counts) expect(c).toBe(10_000 / DEFAULT_BINS);
  });

  it("collapses tied quantiles into one strictly ascending edge and keeps the tie on the boundary", () => {
    const values = [...new Array(90).fill(7), 1, 2, 3, 4, 5, 8, 9, 10, 11, 12];
    const edges = referenceEdges(values, 10);
    for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1]!);
    expect(edges).toContain(7);
    expect(edges).toContain(nextDown(7));
    const s = summarize(edges, values);
    // the 7s, and nothing else, are in the bin (nextDown(7), 7]
    expect(s.counts[edges.indexOf(7)]).toBe(90);
  });

  it("handles a constant feature, an empty reference and non-finite values", () => {
    // A tied value gets a bin of its own: (nextDown(3), 3] holds exactly the 3s.
    expect(referenceEdges([3, 3, 3, 3])).toEqual([nextDown(3), 3]);
    expect(nextDown(3)).toBeLessThan(3);
    expect(binIndex(referenceEdges([3, 3]), 2.9999999)).toBe(0);
    expect(binIndex(referenceEdges([3, 3]), 3)).toBe(1);
    expect(nextDown(0)).toBeLessThan(0);
    expect(nextDown(-1)).toBeLessThan(-1);
    expect(referenceEdges([])).toEqual([]);
    expect(referenceEdges([Number.NaN, Number.POSITIVE_INFINITY, 1, 2], 2)).toEqual([1]);
    expect(() => referenceEdges([1], 0)).toThrow(RangeError);
  });
});

describe("binIndex", () => {
  it("puts x in the right-closed bin (edges[i-1], edges[i]] with open outer bins", () => {
    const edges = [1, 2, 3];
    expect([-5, 1, 1.5, 2, 2.0001, 3, 99].map((x) => binIndex(edges, x))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(binIndex([], 42)).toBe(0);
  });
});

describe("summaries", () => {
  it("keeps counts, per-bin sums and moments, and merges windows into the summary of their union", () => {
    const edges = [0, 10];
    const a = summarize(edges, [-1, 5, 5, 20]);
    const b = summarize(edges, [0, 11, Number.NaN]);
    expect(a).toMatchObject({ counts: [1, 2, 1], sums: [-1, 10, 20], n: 4, min: -1, max: 20, sum: 29 });
    const m = mergeSummaries(a, b);
    expect(m).toEqual(summarize(edges, [-1, 5, 5, 20, 0, 11]));
    expect(mergeSummaries(summarize(edges, []), b)).toEqual(b);
    expect(() => mergeSummaries(a, summarize([1], []))).toThrow(RangeError);
    expect(summaryStd(summarize([], [2, 4, 4, 4, 5, 5, 7, 9]))).toBeCloseTo(2, 12);
  });
});
