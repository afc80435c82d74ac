/**
 * The reference profile document: what `medmlops monitor profile` writes, what a version's `referenceProfile`
 * artifact holds, and what the monitor freezes from stored records. One entry per feature, keyed
 * "<source>:<feature>" with source input | output | metadata and the feature name verbatim
 * (e.g. "input:image:mean", "output:score:pneumothorax", "metadata:Manufacturer").
 *
 * Inputs and outputs are numeric. A metadata feature is numeric when every value seen for it is a finite number
 * (KVP, SliceThickness), categorical otherwise (Modality, Manufacturer; numbers are then counted as strings).
 */
import { z } from "zod";
import { DEFAULT_BINS, referenceEdges } from "./binning.ts";
import { type NumericSummary, summarize } from "./summary.ts";

export const PROFILE_FORMAT = "medmlops.io/reference-profile/v1";
export const FEATURE_SOURCES = ["input", "output", "metadata"] as const;
export type FeatureSource = (typeof FEATURE_SOURCES)[number];

export type CategoryCounts = Record<string, number>;

const count = z.number().int().nonnegative();

const numericShape = {
  edges: z.array(z.number()),
  counts: z.array(count),
  sums: z.array(z.number()),
  n: count,
  min: z.number(),
  max: z.number(),
  sum: z.number(),
  sumSq: z.number().nonnegative(),
};

type SummaryLike = Pick<NumericSummary, "edges" | "counts" | "sums" | "n">;
const summaryChecks = [
  {
    ok: (s: SummaryLike) => s.edges.every((e, i) => i === 0 || e > s.edges[i - 1]!),
    message: "edges must be strictly ascending",
    path: ["edges"],
  },
  {
    ok: (s: SummaryLike) => s.counts.length === s.edges.length + 1 && s.sums.length === s.counts.length,
    message: "counts and sums need one entry per bin (edges.length + 1)",
    path: ["counts"],
  },
  {
    ok: (s: SummaryLike) => s.counts.reduce((a, b) => a + b, 0) === s.n,
    message: "counts must add up to n",
    path: ["n"],
  },
];

function withSummaryChecks<T extends z.ZodObject>(schema: T): T {
  let out = schema;
  for (const c of summaryChecks) {
    out = out.refine((s) => c.ok(s as unknown as SummaryLike), { message: c.message, path: c.path }) as T;
  }
  return out;
}

export const NumericSummarySchema = withSummaryChecks(z.object(numericShape));

export const CategoryCountsSchema = z.record(z.string(), count);

export const FeatureProfileSchema = z.discriminatedUnion("kind", [
  withSummaryChecks(z.object({ kind: z.literal("numeric"), ...numericShape })),
  z.object({ kind: z.literal("categorical"), counts: CategoryCountsSchema }),
]);
export type FeatureProfile =
  | ({ kind: "numeric" } & NumericSummary)
  | { kind: "categorical"; counts: CategoryCounts };

export interface ReferenceProfile {
  format: typeof PROFILE_FORMAT;
  /** Number of records the profile was built from. */
  n: number;
  features: Record<string, FeatureProfile>;
}

const featureKey = z
  .string()
  .regex(/^(input|output|metadata):.+$/, 'feature keys are "<input|output|metadata>:<feature>"');

export const ReferenceProfileSchema: z.ZodType<ReferenceProfile> = z.object({
  format: z.literal(PROFILE_FORMAT),
  n: count,
  features: z.record(featureKey, FeatureProfileSchema),
}) as unknown as z.ZodType<ReferenceProfile>;

export interface ProfileRecord {
  inputs?: Record<string, number>;
  outputs?: Record<string, number>;
  metadata?: Record<string, string | number>;
}

export function profileKey(source: FeatureSource, feature: string): string {
  return `${source}:${feature}`;
}

/** Builds a reference profile from records (two passes over the collected values: quantile edges, then bins). */
export function buildProfile(
  records: Iterable<ProfileRecord>,
  bins: number = DEFAULT_BINS,
): ReferenceProfile {
  const numeric = new Map<string, number[]>();
  const metadata = new Map<string, (string | number)[]>();
  let n = 0;
  const pushNumeric = (key: string, v: number) => {
    const list = numeric.get(key);
    if (list) list.push(v);
    else numeric.set(key, [v]);
  };
  for (const record of records) {
    n++;
    for (const [name, v] of Object.entries(record.inputs ?? {})) pushNumeric(profileKey("input", name), v);
    for (const [name, v] of Object.entries(record.outputs ?? {})) pushNumeric(profileKey("output", name), v);
    for (const [name, v] of Object.entries(record.metadata ?? {})) {
      const key = profileKey("metadata", name);
      const list = metadata.get(key);
      if (list) list.push(v);
      else metadata.set(key, [v]);
    }
  }
  const features: Record<string, FeatureProfile> = {};
  for (const [key, values] of numeric) {
    features[key] = { kind: "numeric", ...summarize(referenceEdges(values, bins), values) };
  }
  for (const [key, values] of metadata) {
    if (values.every((v) => typeof v === "number" && Number.isFinite(v))) {
      const nums = values as number[];
      features[key] = { kind: "numeric", ...summarize(referenceEdges(nums, bins), nums) };
    } else {
      features[key] = { kind: "categorical", counts: countCategories(values) };
    }
  }
  return { format: PROFILE_FORMAT, n, features };
}

/** Category counts; numbers are counted under their JSON spelling (String(v)). */
export function countCategories(values: Iterable<string | number>): CategoryCounts {
  // No prototype: a category called "constructor" or "__proto__" is just a category.
  const counts: CategoryCounts = Object.create(null);
  for (const v of values) {
    const key = String(v);
    counts[key] = (Object.hasOwn(counts, key) ? counts[key]! : 0) + 1;
  }
  return counts;
}
