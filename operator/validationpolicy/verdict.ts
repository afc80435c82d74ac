/**
 * The monitor's evaluate answer → the verdicts written to ValidationPolicy status, in the shape the MedModel
 * controller reads for requireValidation (operator/medmodel/validation.ts): `results[]` keyed by version, each
 * with `metrics[].pass`. A version's verdict is Failed when any row fails, Passed when every row passes — so
 * a results entry must never look complete when a required metric has no verdict yet:
 *
 * - a row counts only with a number for value and both bounds, a boolean pass and n ≥ the metric's minSamples
 *   (checked here again: below minSamples there is no verdict, whatever the monitor said);
 * - when a required metric (whole population) has no counted row and nothing failed, the version's entry is
 *   written with no metrics (pending: promotion waits) and the InsufficientData condition names what is missing;
 * - a failing row always stands: a fail with enough cases is a fail even if another metric lacks cases.
 */
import { MetricNameSchema, type ValidationPolicySpec } from "../../crds/validationpolicy.ts";
import type { EvaluateResult, EvaluatedMetric, PolicyStatus } from "./types.ts";

type StatusResult = NonNullable<PolicyStatus["results"]>[number];
type StatusMetric = NonNullable<StatusResult["metrics"]>[number];
type StatusDrift = NonNullable<PolicyStatus["drift"]>[number];

export const MAX_RESULTS = 16;
export const MAX_METRIC_ROWS = 256;
export const MAX_DRIFT_ROWS = 32;

/** One thing that fired, for conditions, events and episode reasons. Never patient data. */
export interface Finding {
  version: string;
  /** Stable identity within the version (metric+subgroup, or feature+test). */
  id: string;
  message: string;
}

export interface Verdicts {
  results: StatusResult[];
  /** Failing metric rows per version. */
  breaches: Finding[];
  /** Required metrics without a verdict, per version (InsufficientData). */
  missing: Finding[];
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3).replace(/0+$/, ""));

function counted(row: EvaluatedMetric, minSamples: number): StatusMetric | undefined {
  const name = MetricNameSchema.safeParse(row.metric);
  if (!name.success) return undefined;
  const { value, ciLow, ciHigh, pass, n } = row;
  if (typeof value !== "number" || typeof ciLow !== "number" || typeof ciHigh !== "number") return undefined;
  if (typeof pass !== "boolean" || !Number.isFinite(value) || n < minSamples) return undefined;
  return {
    metric: name.data,
    ...(row.subgroup ? { subgroup: row.subgroup } : {}),
    value,
    ciLow,
    ciHigh,
    n: Math.max(0, Math.floor(n)),
    pass,
  };
}

function breachMessage(version: string, m: StatusMetric, spec: ValidationPolicySpec): string {
  const req = spec.metrics.find((x) => x.name === m.metric);
  const where = m.subgroup ? ` at ${m.subgroup}` : "";
  const parts: string[] = [];
  if (req?.min !== undefined && m.ciLow < req.min)
    parts.push(`lower bound ${fmt(m.ciLow)} below floor ${fmt(req.min)}`);
  if (req?.max !== undefined && m.ciHigh > req.max)
    parts.push(`upper bound ${fmt(m.ciHigh)} above ceiling ${fmt(req.max)}`);
  if (parts.length === 0) parts.push(`value ${fmt(m.value)} fails its bound`);
  return `${m.metric}${where} of ${version}: ${parts.join(", ")} (n=${m.n})`;
}

export function verdictsFrom(
  spec: ValidationPolicySpec,
  versions: readonly string[],
  result: EvaluateResult,
): Verdicts {
  const results: StatusResult[] = [];
  const breaches: Finding[] = [];
  const missing: Finding[] = [];
  for (const version of versions.slice(0, MAX_RESULTS)) {
    const rows = result.results.find((r) => r.version === version)?.metrics ?? [];
    const kept: StatusMetric[] = [];
    for (const row of rows) {
      const req = spec.metrics.find((m) => m.name === row.metric);
      if (!req) continue; // not (or no longer) required by this spec
      const m = counted(row, req.minSamples);
      if (m) kept.push(m);
    }
    const failed = kept.filter((m) => !m.pass);
    for (const m of failed)
      breaches.push({
        version,
        id: `${m.metric}/${m.subgroup ?? "all"}`,
        message: breachMessage(version, m, spec),
      });
    const lacking = spec.metrics.filter((req) => !kept.some((m) => m.metric === req.name && !m.subgroup));
    for (const req of lacking) {
      const n = rows.find((r) => r.metric === req.name && !r.subgroup)?.n ?? 0;
      missing.push({
        version,
        id: req.name,
        message: `${req.name} of ${version}: ${n} of ${req.minSamples} annotated cases`,
      });
    }
    const metrics = failed.length > 0 || lacking.length === 0 ? kept.slice(0, MAX_METRIC_ROWS) : [];
    results.push({ version, metrics });
  }
  return { results, breaches, missing };
}

export interface DriftRows {
  rows: StatusDrift[];
  findings: Finding[];
}

function driftMessage(d: StatusDrift, spec: ValidationPolicySpec): string {
  const check = spec.drift.checks.find((c) => c.feature === d.feature && c.test === d.test);
  const what = `${check ? `${check.source} ` : ""}${d.feature} (${d.test}) of ${d.version}`;
  if (check?.pValue !== undefined && d.pValue !== undefined)
    return `${what}: p-value ${d.pValue.toExponential(2)} below ${fmt(check.pValue)}`;
  if (check?.threshold !== undefined)
    return `${what}: statistic ${fmt(d.statistic)} above threshold ${fmt(check.threshold)}`;
  return `${what}: statistic ${fmt(d.statistic)}`;
}

/** Drift rows for status (drifted first, then by version and feature, at most 32) and what fired. */
export function driftFrom(
  spec: ValidationPolicySpec,
  versions: readonly string[],
  result: EvaluateResult,
): DriftRows {
  const all: StatusDrift[] = [];
  for (const d of result.drift) {
    if (!versions.includes(d.version)) continue;
    if (typeof d.statistic !== "number" || !Number.isFinite(d.statistic)) continue;
    all.push({
      version: d.version,
      feature: d.feature,
      test: d.test,
      statistic: d.statistic,
      ...(typeof d.pValue === "number" && Number.isFinite(d.pValue) ? { pValue: d.pValue } : {}),
      drifted: d.drifted === true,
    });
  }
  all.sort(
    (a, b) =>
      Number(b.drifted) - Number(a.drifted) ||
      versions.indexOf(a.version ?? "") - versions.indexOf(b.version ?? "") ||
      a.feature.localeCompare(b.feature) ||
      a.test.localeCompare(b.test),
  );
  const findings = all
    .filter((d) => d.drifted)
    .map((d) => ({ version: d.version ?? "", id: `${d.feature}/${d.test}`, message: driftMessage(d, spec) }));
  return { rows: all.slice(0, MAX_DRIFT_ROWS), findings };
}
