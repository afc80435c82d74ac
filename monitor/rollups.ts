/**
 * Roll-ups: per version, feature and hour, a numeric feature's histogram on its reference's bins (with
 * per-bin sums and moments) or a categorical feature's counts. Ingest adds each batch's deltas; erasure adds
 * negative ones; evaluation sums a window's buckets. Nothing here scans raw records except rebuild().
 */
import type { Queryable } from "./db/index.ts";
import { addNumericDelta, type StoredNumeric } from "./rollup-merge.ts";
import { addValue, emptySummary, type NumericSummary, type ReferenceProfile } from "./stats/index.ts";

export const BUCKET_MS = 3_600_000;

export function bucketOf(t: Date | number): Date {
  const ms = typeof t === "number" ? t : t.getTime();
  return new Date(Math.floor(ms / BUCKET_MS) * BUCKET_MS);
}

/** What roll-ups read of a record. */
export interface RollupInput {
  version: string;
  bucket: Date;
  inputs: Record<string, number>;
  outputs: Record<string, number>;
  metadata: Record<string, string | number>;
}

export interface RollupDeltas {
  numeric: Map<string, { version: string; feature: string; bucket: Date; s: NumericSummary }>;
  categorical: Map<
    string,
    { version: string; feature: string; bucket: Date; category: string; count: number }
  >;
}

/** Where a profile feature key ("input:image:mean") is looked up: its source map and the name in it. */
function featureSource(key: string): { source: "inputs" | "outputs" | "metadata" | undefined; name: string } {
  const colon = key.indexOf(":");
  const source = key.slice(0, colon);
  return {
    source:
      source === "input"
        ? "inputs"
        : source === "output"
          ? "outputs"
          : source === "metadata"
            ? "metadata"
            : undefined,
    name: key.slice(colon + 1),
  };
}

/** The value of a profile feature key ("input:image:mean") in a record, verbatim lookup in its source map. */
export function featureValue(
  r: Omit<RollupInput, "version" | "bucket">,
  key: string,
): string | number | undefined {
  const { source, name } = featureSource(key);
  const map: Record<string, string | number> | undefined = source ? r[source] : undefined;
  if (!map || !Object.hasOwn(map, name)) return undefined;
  return map[name];
}

/** A profile's features resolved once per batch (not once per record). */
interface FeaturePlan {
  key: string;
  source: "inputs" | "outputs" | "metadata";
  name: string;
  /** Reference edges of a numeric feature; undefined for a categorical one. */
  edges: readonly number[] | undefined;
}

function planOf(profile: ReferenceProfile): FeaturePlan[] {
  const plan: FeaturePlan[] = [];
  for (const [key, fp] of Object.entries(profile.features)) {
    const { source, name } = featureSource(key);
    if (source) plan.push({ key, source, name, edges: fp.kind === "numeric" ? fp.edges : undefined });
  }
  return plan;
}

/** One (version, bucket) of a batch: per planned feature, its summary (numeric) or category counts. */
interface Group {
  version: string;
  bucket: Date;
  plan: FeaturePlan[];
  numeric: (NumericSummary | undefined)[];
  categorical: (Map<string, number> | undefined)[];
}

/**
 * Deltas of a set of records, on each version's reference profile (records of versions without one add nothing).
 * Records are grouped by (version, bucket) first, so the per-feature work of a record is a property lookup and
 * a binary search (no per-feature keys or entries built per record).
 */
export function computeDeltas(
  records: Iterable<RollupInput>,
  profiles: ReadonlyMap<string, ReferenceProfile>,
  sign: 1 | -1 = 1,
): RollupDeltas {
  const plans = new Map<string, FeaturePlan[]>();
  const groups = new Map<string, Group>();
  for (const r of records) {
    let plan = plans.get(r.version);
    if (!plan) {
      const profile = profiles.get(r.version);
      if (!profile) continue;
      plan = planOf(profile);
      plans.set(r.version, plan);
    }
    const gk = `${r.version}\u0000${r.bucket.getTime()}`;
    let g = groups.get(gk);
    if (!g) {
      g = { version: r.version, bucket: r.bucket, plan, numeric: [], categorical: [] };
      groups.set(gk, g);
    }
    for (let i = 0; i < plan.length; i++) {
      const f = plan[i]!;
      const map: Record<string, string | number> | undefined = r[f.source];
      if (!map || !Object.hasOwn(map, f.name)) continue;
      const v = map[f.name]!;
      if (f.edges) {
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        let s = g.numeric[i];
        if (!s) {
          s = emptySummary(f.edges);
          g.numeric[i] = s;
        }
        addValue(s, v);
      } else {
        let counts = g.categorical[i];
        if (!counts) {
          counts = new Map();
          g.categorical[i] = counts;
        }
        const category = String(v);
        counts.set(category, (counts.get(category) ?? 0) + 1);
      }
    }
  }
  const out: RollupDeltas = { numeric: new Map(), categorical: new Map() };
  for (const g of groups.values()) {
    const b = g.bucket.getTime();
    g.plan.forEach((f, i) => {
      const s = g.numeric[i];
      if (s) {
        if (sign === -1) {
          s.counts = s.counts.map((c) => -c);
          s.sums = s.sums.map((x) => -x);
          s.n = -s.n;
          s.sum = -s.sum;
          s.sumSq = -s.sumSq;
        }
        out.numeric.set(`${g.version}\u0000${f.key}\u0000${b}`, {
          version: g.version,
          feature: f.key,
          bucket: g.bucket,
          s,
        });
      }
      for (const [category, count] of g.categorical[i] ?? []) {
        out.categorical.set(`${g.version}\u0000${f.key}\u0000${b}\u0000${category}`, {
          version: g.version,
          feature: f.key,
          bucket: g.bucket,
          category,
          count: sign * count,
        });
      }
    });
  }
  return out;
}

/** Adds deltas to the stored roll-ups (one statement per kind). Negative deltas keep min/max as they were. */
export async function applyDeltas(
  tx: Queryable,
  namespace: string,
  model: string,
  d: RollupDeltas,
): Promise<void> {
  if (d.numeric.size > 0) await applyNumeric(tx, namespace, model, d);
  if (d.categorical.size > 0) {
    const rows = [...d.categorical.values()].map((e) => ({
      namespace,
      model,
      version: e.version,
      feature: e.feature,
      bucket: e.bucket.toISOString(),
      category: e.category,
      count: e.count,
    }));
    await tx.query(
      `INSERT INTO rollup_categorical AS r (namespace, model, version, feature, bucket, category, count)
       SELECT namespace, model, version, feature, bucket, category, count
       FROM jsonb_to_recordset($1::jsonb) AS x(namespace text, model text, version text, feature text,
         bucket timestamptz, category text, count bigint)
       ORDER BY namespace, model, version, feature, bucket, category
       ON CONFLICT (namespace, model, version, feature, bucket, category) DO UPDATE SET count = r.count + EXCLUDED.count`,
      [JSON.stringify(rows)],
    );
  }
}

const NUMERIC_RECORDSET = `jsonb_to_recordset($3::jsonb) AS x(version text, feature text, bucket timestamptz,
  counts bigint[], sums float8[], n bigint, sum float8, sum_sq float8, min float8, max float8)`;

/** The statistics columns of a rollup_numeric row, as ingest (merging) and evaluation (reading) select them. */
export const NUMERIC_STATS_COLUMNS =
  "counts::float8[] AS counts, sums, n::float8 AS n, sum, sum_sq, min, max";
export interface NumericStatsRow {
  counts: number[];
  sums: number[];
  n: number;
  sum: number;
  sum_sq: number;
  min: number;
  max: number;
}

/**
 * Numeric deltas: the rows that exist are read under row locks (FOR UPDATE), added to in JS (addNumericDelta)
 * and written back by plain assignment; only rows not there yet go through the additive upsert (which also
 * covers a concurrent batch creating the same row first). Rows are locked and inserted in key order, as every
 * upsert of a batch does, so concurrent batches do not deadlock on them (ingest.ts). Element-wise array addition in SQL (unnest … array_agg
 * per row) was the second most expensive statement of ingest.
 */
async function applyNumeric(tx: Queryable, namespace: string, model: string, d: RollupDeltas): Promise<void> {
  const key = (version: string, feature: string, bucketMs: number) =>
    `${version}\u0000${feature}\u0000${bucketMs}`;
  const deltas = [...d.numeric.values()];
  const { rows: stored } = await tx.query<
    NumericStatsRow & { version: string; feature: string; bucket: Date }
  >(
    `SELECT r.version, r.feature, r.bucket, ${NUMERIC_STATS_COLUMNS}
     FROM rollup_numeric r
     WHERE r.namespace = $1 AND r.model = $2 AND (r.version, r.feature, r.bucket) IN (
       SELECT version, feature, bucket FROM jsonb_to_recordset($3::jsonb) AS x(version text, feature text, bucket timestamptz))
     ORDER BY r.version, r.feature, r.bucket
     FOR UPDATE`,
    [
      namespace,
      model,
      JSON.stringify(
        deltas.map((e) => ({ version: e.version, feature: e.feature, bucket: e.bucket.toISOString() })),
      ),
    ],
  );
  const existing = new Map<string, StoredNumeric>();
  for (const r of stored)
    existing.set(key(r.version, r.feature, new Date(r.bucket).getTime()), {
      counts: r.counts.map(Number),
      sums: r.sums.map(Number),
      n: Number(r.n),
      sum: Number(r.sum),
      sumSq: Number(r.sum_sq),
      min: Number(r.min),
      max: Number(r.max),
    });
  const updates: object[] = [];
  const inserts: object[] = [];
  for (const e of deltas) {
    const row = (s: StoredNumeric) => ({
      version: e.version,
      feature: e.feature,
      bucket: e.bucket.toISOString(),
      counts: s.counts,
      sums: s.sums,
      n: s.n,
      sum: s.sum,
      sum_sq: s.sumSq,
      min: s.min,
      max: s.max,
    });
    const before = existing.get(key(e.version, e.feature, e.bucket.getTime()));
    if (before) updates.push(row(addNumericDelta(before, e.s)));
    else inserts.push(row(e.s));
  }
  if (updates.length > 0)
    await tx.query(
      `UPDATE rollup_numeric AS r SET counts = x.counts, sums = x.sums, n = x.n, sum = x.sum, sum_sq = x.sum_sq,
         min = x.min, max = x.max
       FROM ${NUMERIC_RECORDSET}
       WHERE r.namespace = $1 AND r.model = $2 AND r.version = x.version AND r.feature = x.feature
         AND r.bucket = x.bucket`,
      [namespace, model, JSON.stringify(updates)],
    );
  if (inserts.length > 0)
    await tx.query(
      `INSERT INTO rollup_numeric AS r (namespace, model, version, feature, bucket, counts, sums, n, sum, sum_sq, min, max)
       SELECT $1, $2, version, feature, bucket, counts, sums, n, sum, sum_sq, min, max FROM ${NUMERIC_RECORDSET}
       ORDER BY version, feature, bucket
       ON CONFLICT (namespace, model, version, feature, bucket) DO UPDATE SET
         counts = (SELECT array_agg(a + b ORDER BY i) FROM unnest(r.counts, EXCLUDED.counts) WITH ORDINALITY AS t(a, b, i)),
         sums = (SELECT array_agg(a + b ORDER BY i) FROM unnest(r.sums, EXCLUDED.sums) WITH ORDINALITY AS t(a, b, i)),
         n = r.n + EXCLUDED.n,
         sum = r.sum + EXCLUDED.sum,
         sum_sq = r.sum_sq + EXCLUDED.sum_sq,
         min = CASE WHEN EXCLUDED.n > 0 THEN LEAST(r.min, EXCLUDED.min) ELSE r.min END,
         max = CASE WHEN EXCLUDED.n > 0 THEN GREATEST(r.max, EXCLUDED.max) ELSE r.max END`,
      [namespace, model, JSON.stringify(inserts)],
    );
}

/** Drops roll-up rows an erasure emptied. */
export async function pruneEmpty(tx: Queryable, namespace: string, model: string): Promise<void> {
  await tx.query("DELETE FROM rollup_numeric WHERE namespace = $1 AND model = $2 AND n <= 0", [
    namespace,
    model,
  ]);
  await tx.query("DELETE FROM rollup_categorical WHERE namespace = $1 AND model = $2 AND count <= 0", [
    namespace,
    model,
  ]);
}

/** Reads the reference profiles of some versions of a model. */
export async function loadProfiles(
  q: Queryable,
  namespace: string,
  model: string,
  versions: readonly string[],
): Promise<Map<string, ReferenceProfile>> {
  const { rows } = await q.query<{ version: string; profile: ReferenceProfile }>(
    `SELECT version, profile FROM reference_profiles
     WHERE namespace = $1 AND model = $2 AND version IN (SELECT jsonb_array_elements_text($3::jsonb))`,
    [namespace, model, JSON.stringify([...new Set(versions)])],
  );
  return new Map(rows.map((r) => [r.version, r.profile]));
}

/**
 * Recomputes a version's roll-ups from its stored records (when its reference changes): one keyset-paged scan,
 * bounded memory. The caller holds the model's exclusive lock.
 */
export async function rebuild(
  tx: Queryable,
  namespace: string,
  model: string,
  version: string,
  profile: ReferenceProfile,
  pageSize = 5000,
): Promise<number> {
  await tx.query("DELETE FROM rollup_numeric WHERE namespace = $1 AND model = $2 AND version = $3", [
    namespace,
    model,
    version,
  ]);
  await tx.query("DELETE FROM rollup_categorical WHERE namespace = $1 AND model = $2 AND version = $3", [
    namespace,
    model,
    version,
  ]);
  const profiles = new Map([[version, profile]]);
  let after = 0;
  let total = 0;
  for (;;) {
    const { rows } = await tx.query<{
      id: string | number;
      bucket: Date;
      inputs: Record<string, number>;
      outputs: Record<string, number>;
      metadata: Record<string, string | number>;
    }>(
      `SELECT id::float8 AS id, bucket, inputs, outputs, metadata FROM records
       WHERE namespace = $1 AND model = $2 AND version = $3 AND id > $4 ORDER BY id LIMIT $5`,
      [namespace, model, version, after, pageSize],
    );
    if (rows.length === 0) break;
    after = Number(rows[rows.length - 1]!.id);
    total += rows.length;
    await applyDeltas(
      tx,
      namespace,
      model,
      computeDeltas(
        rows.map((r) => ({ ...r, version })),
        profiles,
      ),
    );
  }
  return total;
}

/** Advisory locks per model: ingest and erasure share, a reference change (rebuild) is exclusive. */
const LOCK_CLASS = 0x726f6c6c; // "roll"
export async function lockModels(
  tx: Queryable,
  keys: Iterable<string>,
  mode: "shared" | "exclusive",
): Promise<void> {
  const fn = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  for (const key of [...new Set(keys)].sort())
    await tx.query(`SELECT ${fn}($1, hashtext($2))`, [LOCK_CLASS, key]);
}
