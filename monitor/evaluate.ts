/**
 * POST /v1/policies/{ns}/{name}/evaluate. Drift reads the window's roll-ups (a few hundred rows whatever the
 * traffic); metrics read the annotated cases of the window (bounded by annotation effort, not by traffic).
 * Output shapes are the ValidationPolicy status's (results[].metrics[], drift[] + version), plus why each
 * missing verdict is missing (insufficient[]).
 */
import type { ValidationPolicySpec } from "../crds/validationpolicy.ts";
import type { MonitorContext } from "./context.ts";
import type { Queryable } from "./db/index.ts";
import { ApiError } from "./errors.ts";
import { windowMs } from "./policy-store.ts";
import { retentionCutoff, windowPastRetention } from "./retention-decision.ts";
import { bucketOf, loadProfiles, NUMERIC_STATS_COLUMNS, type NumericStatsRow } from "./rollups.ts";
import {
  auroc,
  type BinaryCase,
  binaryMetrics,
  calibrationError,
  type CategoryCounts,
  categoricalDrift,
  driftTestApplies,
  type Estimate,
  meanAbsoluteError,
  meanDice,
  mergeSummaries,
  type NumericSummary,
  numericDrift,
  type ReferenceProfile,
} from "./stats/index.ts";
import type { EvaluateResponse } from "./wire.ts";

type MetricRow = EvaluateResponse["results"][number]["metrics"][number];
type DriftRow = EvaluateResponse["drift"][number];
type Insufficient = EvaluateResponse["insufficient"][number];

/** One annotated case in the window, as evaluation needs it. */
export interface AnnotatedCase {
  version: string;
  site: string | null;
  manufacturer: string | null;
  scannerModel: string | null;
  predicted: boolean | null;
  score: number | null;
  weight: number;
  truth: boolean | null;
  value: number | null;
  dice: number | null;
}

type Spec = ValidationPolicySpec;
type MetricSpec = Spec["metrics"][number];

const SUBGROUP_FIELD = { site: "site", manufacturer: "manufacturer", scannerModel: "scannerModel" } as const;
const CALIBRATION_SEED = 12_345; // fixed: the same data give the same interval on every evaluation

export async function evaluatePolicy(
  ctx: MonitorContext,
  namespace: string,
  name: string,
  versions: string[],
  now: Date,
): Promise<EvaluateResponse> {
  const started = performance.now();
  const { rows } = await ctx.db.query<{ model: string; spec: Spec }>(
    "SELECT model, spec FROM policies WHERE namespace = $1 AND name = $2",
    [namespace, name],
  );
  if (!rows[0]) throw new ApiError(404, "POLICY_NOT_FOUND", "no such policy; PUT it first");
  const { model, spec } = rows[0];
  const q = ctx.db;
  const starts = new Map<string, Date>();
  for (const v of versions) starts.set(v, await windowStart(q, namespace, model, v, spec, now));

  const profiles = await loadProfiles(q, namespace, model, versions);
  const drift: DriftRow[] = [];
  const insufficient: Insufficient[] = [];
  for (const v of versions) {
    const out = await driftFor(q, namespace, model, v, spec, profiles.get(v), starts.get(v)!, now);
    drift.push(...out.rows);
    insufficient.push(...out.insufficient);
  }

  const earliest = new Date(Math.min(...[...starts.values()].map((d) => d.getTime())));
  const cases = await annotatedCases(q, namespace, model, versions, earliest, now);
  const results: EvaluateResponse["results"] = [];
  const clock = ctx.now();
  for (const v of versions) {
    if (windowPastRetention(starts.get(v)!, now, clock, ctx.retentionDays)) {
      // records before the retention cutoff are deleted: metrics over this window would be partial
      results.push({ version: v, metrics: [] });
      for (const m of spec.metrics) {
        insufficient.push({
          version: v,
          kind: "metric",
          name: m.name,
          reason: "PAST_RETENTION",
          n: 0,
          minSamples: m.minSamples,
        });
      }
      continue;
    }
    const start = starts.get(v)!.getTime();
    const mine = cases.filter((c) => c.version === v && c.time >= start);
    const out = metricsFor(v, spec.metrics, mine);
    results.push({ version: v, metrics: out.rows });
    insufficient.push(...out.insufficient);
  }

  // with retention, cases sampled before the cutoff are deleted and can no longer be annotated
  const keptFrom =
    ctx.retentionDays === undefined ? new Date(0) : bucketOf(retentionCutoff(clock, ctx.retentionDays));
  const backlog = await q.query<{ n: number }>(
    `SELECT (coalesce(sum(sampled), 0) - coalesce(sum(annotated), 0))::float8 AS n FROM traffic
     WHERE namespace = $1 AND model = $2 AND bucket >= $3`,
    [namespace, model, keptFrom.toISOString()],
  );
  recordGauges(ctx, namespace, name, model, results, drift, backlog.rows[0]?.n ?? 0);
  ctx.metrics.evaluationDuration.observe((performance.now() - started) / 1000);
  return {
    evaluatedAt: now.toISOString(),
    window: { start: earliest.toISOString(), end: now.toISOString() },
    results,
    drift,
    insufficientData: insufficient.length > 0,
    insufficient,
  };
}

/** Start of the live window: now − duration (default 7 d), or back to the bucket holding the N-th latest case. */
async function windowStart(
  q: Queryable,
  namespace: string,
  model: string,
  version: string,
  spec: Spec,
  now: Date,
): Promise<Date> {
  const cases = spec.drift.window.cases;
  if (cases === undefined) return new Date(now.getTime() - windowMs(spec));
  const { rows } = await q.query<{ bucket: Date; n: number }>(
    `SELECT bucket, sum(total)::float8 AS n FROM traffic
     WHERE namespace = $1 AND model = $2 AND version = $3 AND bucket <= $4
     GROUP BY bucket ORDER BY bucket DESC`,
    [namespace, model, version, now.toISOString()],
  );
  let seen = 0;
  for (const r of rows) {
    seen += r.n;
    if (seen >= cases) return r.bucket;
  }
  return rows.length > 0 ? rows[rows.length - 1]!.bucket : now;
}

async function driftFor(
  q: Queryable,
  namespace: string,
  model: string,
  version: string,
  spec: Spec,
  profile: ReferenceProfile | undefined,
  start: Date,
  now: Date,
): Promise<{ rows: DriftRow[]; insufficient: Insufficient[] }> {
  const rows: DriftRow[] = [];
  const insufficient: Insufficient[] = [];
  const checks = spec.drift.checks;
  if (checks.length === 0) return { rows, insufficient };
  if (!profile) {
    for (const c of checks) {
      insufficient.push({
        version,
        kind: "drift",
        name: `${c.source}:${c.feature}/${c.test}`,
        reason: "NO_REFERENCE",
        n: 0,
      });
    }
    return { rows, insufficient };
  }
  const keys = [...new Set(checks.map((c) => `${c.source}:${c.feature}`))];
  const range = [
    namespace,
    model,
    version,
    JSON.stringify(keys),
    bucketOf(start).toISOString(),
    now.toISOString(),
  ];
  const where = `namespace = $1 AND model = $2 AND version = $3
    AND feature IN (SELECT jsonb_array_elements_text($4::jsonb)) AND bucket >= $5 AND bucket <= $6`;
  const numeric = await q.query<NumericStatsRow & { feature: string }>(
    `SELECT feature, ${NUMERIC_STATS_COLUMNS} FROM rollup_numeric WHERE ${where}`,
    range,
  );
  const categorical = await q.query<{ feature: string; category: string; count: number }>(
    `SELECT feature, category, sum(count)::float8 AS count FROM rollup_categorical WHERE ${where} GROUP BY feature, category`,
    range,
  );
  const current = new Map<string, NumericSummary>();
  for (const r of numeric.rows) {
    const fp = profile.features[r.feature];
    if (fp?.kind !== "numeric" || r.counts.length !== fp.edges.length + 1) continue;
    const s: NumericSummary = {
      edges: fp.edges,
      counts: r.counts.map(Number),
      sums: r.sums.map(Number),
      n: Number(r.n),
      sum: r.sum,
      sumSq: r.sum_sq,
      min: r.min,
      max: r.max,
    };
    const prev = current.get(r.feature);
    current.set(r.feature, prev ? mergeSummaries(prev, s) : s);
  }
  const counts = new Map<string, CategoryCounts>();
  for (const r of categorical.rows) {
    let m = counts.get(r.feature);
    if (!m) {
      m = Object.create(null) as CategoryCounts;
      counts.set(r.feature, m);
    }
    m[r.category] = Number(r.count);
  }
  for (const c of checks) {
    const key = `${c.source}:${c.feature}`;
    const label = `${key}/${c.test}`;
    const fp = profile.features[key];
    if (!fp) {
      insufficient.push({ version, kind: "drift", name: label, reason: "FEATURE_NOT_IN_REFERENCE", n: 0 });
      continue;
    }
    if (!driftTestApplies(c.test, fp.kind)) {
      throw new ApiError(
        422,
        "DRIFT_TEST_NOT_APPLICABLE",
        `drift check ${c.test} on ${key}: the test needs a numeric feature, the reference's is categorical`,
      );
    }
    let stat: { statistic: number; pValue: number | null };
    let n: number;
    if (fp.kind === "numeric") {
      const cur = current.get(key);
      n = cur?.n ?? 0;
      if (!cur || n === 0) {
        insufficient.push({ version, kind: "drift", name: label, reason: "NO_TRAFFIC", n: 0 });
        continue;
      }
      stat = numericDrift(c.test, fp, cur);
    } else {
      const cur = counts.get(key);
      n = cur ? Object.values(cur).reduce((a, b) => a + b, 0) : 0;
      if (!cur || n === 0) {
        insufficient.push({ version, kind: "drift", name: label, reason: "NO_TRAFFIC", n: 0 });
        continue;
      }
      stat = categoricalDrift(c.test, fp.counts, cur);
    }
    const drifted =
      c.threshold !== undefined
        ? stat.statistic > c.threshold
        : stat.pValue !== null && c.pValue !== undefined && stat.pValue < c.pValue;
    rows.push({
      version,
      feature: c.feature,
      test: c.test,
      statistic: stat.statistic,
      ...(stat.pValue !== null ? { pValue: stat.pValue } : {}),
      drifted,
    });
  }
  return { rows, insufficient };
}

interface TimedCase extends AnnotatedCase {
  time: number;
}

async function annotatedCases(
  q: Queryable,
  namespace: string,
  model: string,
  versions: string[],
  start: Date,
  now: Date,
): Promise<TimedCase[]> {
  const { rows } = await q.query<{
    version: string;
    t: number;
    site: string | null;
    manufacturer: string | null;
    scanner_model: string | null;
    predicted: boolean | null;
    score: number | null;
    pi: number | null;
    sampled: boolean;
    truth: boolean | null;
    value: number | null;
    dice: number | null;
  }>(
    // a reader's annotation wins over a report's for the same case
    `SELECT DISTINCT ON (r.id) r.version, (extract(epoch FROM r.time) * 1000)::float8 AS t, r.site,
       r.metadata->>'Manufacturer' AS manufacturer, r.metadata->>'ManufacturerModelName' AS scanner_model,
       r.decision_positive AS predicted, r.decision_score AS score, r.inclusion_prob AS pi, r.sampled,
       a.positive AS truth, a.value, a.dice
     FROM annotations a
     -- LATERAL: one index probe per annotation whatever the planner believes about the tables' sizes
     CROSS JOIN LATERAL (
       SELECT * FROM records r0
       WHERE r0.namespace = a.namespace AND r0.model = a.model AND r0.case_id = a.case_id
     ) r
     WHERE a.namespace = $1 AND a.model = $2 AND r.version IN (SELECT jsonb_array_elements_text($3::jsonb))
       AND r.time >= $4 AND r.time <= $5
     ORDER BY r.id, (a.source = 'reader') DESC`,
    [namespace, model, JSON.stringify(versions), start.toISOString(), now.toISOString()],
  );
  return rows.map((r) => ({
    version: r.version,
    time: r.t,
    site: r.site,
    manufacturer: r.manufacturer,
    scannerModel: r.scanner_model,
    predicted: r.predicted,
    score: r.score,
    // Horvitz–Thompson: a case drawn with probability π stands for 1/π cases; annotated outside the draw: 1
    weight: r.sampled && r.pi !== null && r.pi > 0 ? 1 / r.pi : 1,
    truth: r.truth,
    value: r.value,
    dice: r.dice,
  }));
}

/** Pure: metric rows (with verdicts) and the reasons for missing ones, for one version's annotated cases. */
export function metricsFor(
  version: string,
  metrics: readonly MetricSpec[],
  cases: readonly AnnotatedCase[],
): { rows: MetricRow[]; insufficient: Insufficient[] } {
  const rows: MetricRow[] = [];
  const insufficient: Insufficient[] = [];
  const binaryCache: BinaryCache = new Map();
  for (const m of metrics) {
    const groups: { subgroup?: string; cases: readonly AnnotatedCase[] }[] = [{ cases }];
    for (const g of m.bySubgroup ?? []) {
      const field = SUBGROUP_FIELD[g];
      const by = new Map<string, AnnotatedCase[]>();
      for (const c of cases) {
        const value = c[field];
        if (value === null || value === undefined) continue;
        const list = by.get(value);
        if (list) list.push(c);
        else by.set(value, [c]);
      }
      for (const [value, list] of [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        groups.push({ subgroup: `${g}=${value}`, cases: list });
      }
    }
    for (const g of groups) {
      const sub = g.subgroup !== undefined ? { subgroup: g.subgroup } : {};
      // the gate counts the annotated cases the metric can use; below it no estimate is even computed
      const usable = usableCount(m.name, g.cases);
      if (usable < m.minSamples) {
        insufficient.push({
          version,
          kind: "metric",
          name: m.name,
          ...sub,
          reason: "TOO_FEW_SAMPLES",
          n: usable,
          minSamples: m.minSamples,
        });
        continue;
      }
      const est = estimate(m, g.cases, binaryCache);
      if (est.n < m.minSamples) {
        insufficient.push({
          version,
          kind: "metric",
          name: m.name,
          ...sub,
          reason: "TOO_FEW_SAMPLES",
          n: est.n,
          minSamples: m.minSamples,
        });
        continue;
      }
      if (est.value === null || est.ciLow === null || est.ciHigh === null) {
        insufficient.push({
          version,
          kind: "metric",
          name: m.name,
          ...sub,
          reason: "UNDEFINED",
          n: est.n,
          minSamples: m.minSamples,
        });
        continue;
      }
      const pass =
        (m.min === undefined || est.ciLow >= m.min) && (m.max === undefined || est.ciHigh <= m.max);
      rows.push({
        metric: m.name,
        ...sub,
        value: est.value,
        ciLow: est.ciLow,
        ciHigh: est.ciHigh,
        n: est.n,
        pass,
      });
    }
  }
  return { rows, insufficient };
}

function usableCount(metric: MetricSpec["name"], cases: readonly AnnotatedCase[]): number {
  let n = 0;
  for (const c of cases) {
    if (metric === "dice") n += c.dice !== null ? 1 : 0;
    else if (metric === "mae") n += c.score !== null && c.value !== null ? 1 : 0;
    else if (metric === "auroc" || metric === "calibrationError")
      n += c.truth !== null && c.predicted !== null && c.score !== null ? 1 : 0;
    else n += c.truth !== null && c.predicted !== null ? 1 : 0;
  }
  return n;
}

type BinaryCache = Map<readonly AnnotatedCase[], Map<string, ReturnType<typeof binaryMetrics>>>;

function binaryCases(cases: readonly AnnotatedCase[], needScore: boolean): BinaryCase[] {
  const out: BinaryCase[] = [];
  for (const c of cases) {
    if (c.truth === null || c.predicted === null) continue;
    if (needScore && c.score === null) continue;
    out.push({
      predicted: c.predicted,
      truth: c.truth,
      weight: c.weight,
      ...(c.score !== null ? { score: c.score } : {}),
    });
  }
  return out;
}

function estimate(m: MetricSpec, cases: readonly AnnotatedCase[], cache: BinaryCache): Estimate {
  switch (m.name) {
    case "sensitivity":
    case "specificity":
    case "ppv":
    case "npv":
    case "accuracy": {
      // the five come from one confusion table: compute once per case set and confidence level
      const key = `${m.confidence}`;
      let byLevel = cache.get(cases);
      if (!byLevel) {
        byLevel = new Map();
        cache.set(cases, byLevel);
      }
      let all = byLevel.get(key);
      if (!all) {
        all = binaryMetrics(binaryCases(cases, false), m.confidence);
        byLevel.set(key, all);
      }
      return all[m.name];
    }
    case "auroc":
      return auroc(binaryCases(cases, true), m.confidence);
    case "calibrationError":
      return calibrationError(binaryCases(cases, true), m.confidence, { seed: CALIBRATION_SEED });
    case "mae": {
      const pairs = cases.flatMap((c) =>
        c.score !== null && c.value !== null ? [{ predicted: c.score, actual: c.value }] : [],
      );
      return meanAbsoluteError(pairs, m.confidence);
    }
    case "dice":
      return meanDice(
        cases.flatMap((c) => (c.dice !== null ? [c.dice] : [])),
        m.confidence,
      );
  }
}

function recordGauges(
  ctx: MonitorContext,
  namespace: string,
  policy: string,
  model: string,
  results: EvaluateResponse["results"],
  drift: DriftRow[],
  backlog: number,
): void {
  const m = ctx.metrics;
  m.annotationBacklog.set({ namespace, policy, model }, Math.max(0, backlog));
  for (const d of drift) {
    const labels = { namespace, policy, model, version: d.version, feature: d.feature, test: d.test };
    m.driftStatistic.set(labels, d.statistic);
    m.drifted.set(labels, d.drifted ? 1 : 0);
  }
  for (const r of results) {
    for (const row of r.metrics) {
      if (row.subgroup !== undefined) continue; // subgroup values come from records, not configuration
      const labels = { namespace, policy, model, version: r.version, metric: row.metric };
      m.metricValue.set(labels, row.value);
      m.metricCiLow.set(labels, row.ciLow);
      m.metricCiHigh.set(labels, row.ciHigh);
    }
  }
}
