/**
 * computeDeltas (pure): the batch's deltas equal, feature by feature and bucket by bucket, what summarising the
 * values found by featureValue over each (version, bucket) gives — whatever the records leave out or get wrong.
 */
import { describe, expect, it } from "vitest";
import { bucketOf, computeDeltas, featureValue, type RollupInput } from "./rollups.ts";
import { type ReferenceProfile, summarize } from "./stats/index.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const profile = {
  features: {
    "input:x": { kind: "numeric", edges: [0, 1, 2] },
    "output:score:a": { kind: "numeric", edges: [0.25, 0.5, 0.75] },
    "metadata:Modality": { kind: "categorical" },
    "metadata:KVP": { kind: "numeric", edges: [100, 120] },
    "other:y": { kind: "numeric", edges: [0] }, // no such source: never looked up
  },
} as unknown as ReferenceProfile;
const profiles = new Map([
  ["v1", profile],
  ["v2", { features: { "input:x": { kind: "numeric", edges: [5] } } } as unknown as ReferenceProfile],
]);

function rec(i: number): RollupInput {
  const inputs: Record<string, number> = {};
  if (i % 5 !== 0) inputs["x"] = i % 7 === 0 ? Number.NaN : ((i * 37) % 50) / 10 - 1;
  const metadata: Record<string, string | number> = {};
  if (i % 11 !== 0) metadata["Modality"] = ["CT", "CR", "DX"][i % 3]!;
  if (i % 4 !== 0) metadata["KVP"] = i % 6 === 0 ? "110" : 90 + (i % 40); // a string in a numeric feature is skipped
  return {
    version: ["v1", "v2", "v3"][i % 3]!, // v3 has no profile
    bucket: bucketOf(T0 + (i % 4) * 3_600_000),
    inputs,
    outputs: i % 2 ? { "score:a": (i % 10) / 10 } : {},
    metadata,
  };
}

/** The obvious computation: per (version, feature, bucket), summarize the finite numbers / count the categories. */
function naive(records: RollupInput[], sign: 1 | -1) {
  const numeric = new Map<string, unknown>();
  const categorical = new Map<string, number>();
  for (const [version, p] of profiles)
    for (const [key, fp] of Object.entries(p.features)) {
      for (const b of new Set(records.map((r) => r.bucket.getTime()))) {
        const mine = records.filter((r) => r.version === version && r.bucket.getTime() === b);
        const values = mine.map((r) => featureValue(r, key));
        if (fp.kind === "numeric") {
          const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
          if (xs.length === 0) continue;
          const s = summarize(fp.edges, xs);
          numeric.set(`${version}|${key}|${b}`, {
            counts: s.counts.map((c) => sign * c),
            sums: s.sums.map((x) => sign * x),
            n: sign * s.n,
            sum: sign * s.sum,
            sumSq: sign * s.sumSq,
            min: s.min,
            max: s.max,
          });
        } else {
          for (const v of values)
            if (v !== undefined) {
              const k = `${version}|${key}|${b}|${String(v)}`;
              categorical.set(k, (categorical.get(k) ?? 0) + sign);
            }
        }
      }
    }
  return { numeric, categorical };
}

describe("computeDeltas", () => {
  const records = Array.from({ length: 300 }, (_, i) => rec(i));
  it.each([1, -1] as const)(
    "equals summarising each (version, feature, bucket) on its own (sign %i)",
    (sign) => {
      const d = computeDeltas(records, profiles, sign);
      const want = naive(records, sign);
      const numeric = new Map(
        [...d.numeric.values()].map((e) => [
          `${e.version}|${e.feature}|${e.bucket.getTime()}`,
          {
            counts: e.s.counts,
            sums: e.s.sums,
            n: e.s.n,
            sum: e.s.sum,
            sumSq: e.s.sumSq,
            min: e.s.min,
            max: e.s.max,
          },
        ]),
      );
      const categorical = new Map(
        [...d.categorical.values()].map((e) => [
          `${e.version}|${e.feature}|${e.bucket.getTime()}|${e.category}`,
          e.count,
        ]),
      );
      expect(numeric.size).toBe(12); // v1 × {x, score:a, KVP} and v2 × x over 4 buckets, minus the empty ones
      expect(numeric).toEqual(want.numeric);
      expect(categorical).toEqual(want.categorical);
      expect([...d.numeric.values()].some((e) => e.version === "v3" || e.feature === "other:y")).toBe(false);
    },
  );

  it("keeps each entry's edges its own (a later batch cannot alias the profile's)", () => {
    const d = computeDeltas(records.slice(0, 30), profiles);
    for (const e of d.numeric.values())
      expect(e.s.edges).not.toBe((profiles.get(e.version)!.features[e.feature] as { edges: number[] }).edges);
  });
});
