/**
 * POST /v1/records: validate each record (a bad one is rejected with a stable code, the rest kept), drop the
 * records of patients whose consent denies quality monitoring (counted, not stored), draw the annotation sample,
 * store the rest idempotently and add their roll-ups — all in one transaction, so a 202 means durable.
 */
import type { ConsentRecordSpec } from "../crds/consentrecord.ts";
import { consentPermits } from "./consent-decision.ts";
import type { MonitorContext } from "./context.ts";
import type { Queryable } from "./db/index.ts";
import { copyText } from "./db/copy-text.ts";
import { samplingFor } from "./policy-store.ts";
import { applyDeltas, bucketOf, computeDeltas, loadProfiles, lockModels } from "./rollups.ts";
import {
  caseUniform,
  countDecision,
  type DecisionClass,
  decisionClass,
  emptyTraffic,
  inclusionProbability,
  type TrafficStats,
} from "./sampling.ts";
import { type ParsedRecord, parseRecord, type RecordsResponse } from "./wire.ts";

interface Row {
  r: ParsedRecord;
  time: Date;
  bucket: Date;
  cls: DecisionClass;
  pi: number | null;
  sampled: boolean;
}

export async function ingestRecords(
  ctx: MonitorContext,
  records: readonly unknown[],
): Promise<RecordsResponse> {
  const rejected: { index: number; code: string }[] = [];
  const valid: ParsedRecord[] = [];
  records.forEach((value, index) => {
    const p = parseRecord(value);
    if (p.ok) valid.push(p.record);
    else rejected.push({ index, code: p.code });
  });
  let excluded = 0;
  if (valid.length > 0) {
    excluded = await ctx.db.transaction((tx) => store(tx, ctx, valid));
  }
  const accepted = valid.length - excluded;
  await analyzeWhenGrown(ctx, accepted);
  ctx.metrics.recordsAccepted.inc(accepted);
  ctx.metrics.recordsExcluded.inc(excluded);
  for (const r of rejected) ctx.metrics.recordsRejected.inc({ code: r.code });
  return { accepted, excluded, rejected };
}

/**
 * Concurrent batches (several sidecars; PostgreSQL runs them at once) take row locks on the same records keys,
 * traffic, roll-up and consent rows. They take them in one order — models sorted, and within a statement rows
 * sorted by key (insertRecords, addTraffic, rollups.ts, the consent counters) — so they wait for each other
 * instead of deadlocking (api.test.ts: concurrent batches of two models, and of the same cases in opposite
 * orders, which did deadlock on PostgreSQL before).
 */
async function store(tx: Queryable, ctx: MonitorContext, valid: ParsedRecord[]): Promise<number> {
  // Group by model: locks, policies and profiles are per model.
  const byModel = new Map<string, ParsedRecord[]>();
  for (const r of valid) {
    const key = `${r.namespace}/${r.model}`;
    const list = byModel.get(key);
    if (list) list.push(r);
    else byModel.set(key, [r]);
  }
  await lockModels(tx, byModel.keys(), "shared");

  const denied = await consentDenials(tx, valid);
  const excludedBy = new Map<string, number>();
  const sampling = await samplingFor(
    tx,
    [...byModel.values()].map((l) => ({ namespace: l[0]!.namespace, model: l[0]!.model })),
  );
  const now = ctx.now();
  // Models in one order (as lockModels), so two concurrent batches take the rows of several models in one order.
  for (const [key, list] of [...byModel].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const { namespace, model } = list[0]!;
    const rows: Row[] = [];
    for (const r of list) {
      const time = new Date(r.time);
      if (r.patient && denied.get(r.patient)?.(model, time)) {
        excludedBy.set(r.patient, (excludedBy.get(r.patient) ?? 0) + 1);
        continue;
      }
      rows.push({
        r,
        time,
        bucket: bucketOf(time),
        cls: decisionClass(r.decision),
        pi: null,
        sampled: false,
      });
    }
    if (rows.length === 0) continue;
    const s = sampling.get(key);
    if (s) {
      const stats = await trafficStats(tx, namespace, model, new Date(now.getTime() - s.windowMs));
      for (const row of rows) {
        row.pi = inclusionProbability(s.spec, row.cls, stats);
        row.sampled = caseUniform(namespace, model, row.r.caseId) < row.pi;
        countDecision(stats, row.cls, row.sampled);
      }
    }
    const inserted =
      ctx.db.serialized && tx.copyIn
        ? await copyRecords(tx, tx.copyIn, namespace, model, rows)
        : await insertRecords(tx, namespace, model, rows);
    await addTraffic(tx, namespace, model, inserted);
    const profiles = await loadProfiles(
      tx,
      namespace,
      model,
      inserted.map((x) => x.r.version),
    );
    if (profiles.size > 0) {
      const deltas = computeDeltas(
        inserted.map((x) => ({
          version: x.r.version,
          bucket: x.bucket,
          inputs: x.r.inputs,
          outputs: x.r.outputs,
          metadata: x.r.metadata ?? {},
        })),
        profiles,
      );
      await applyDeltas(tx, namespace, model, deltas);
    }
  }
  if (excludedBy.size > 0) {
    // the counters' rows locked in key order first (UPDATE … FROM locks in the join's order)
    await tx.query("SELECT 1 FROM consent WHERE pseudonym = ANY($1::text[]) ORDER BY pseudonym FOR UPDATE", [
      [...excludedBy.keys()],
    ]);
    await tx.query(
      `UPDATE consent c SET excluded = c.excluded + x.n
       FROM jsonb_to_recordset($1::jsonb) AS x(pseudonym text, n bigint) WHERE c.pseudonym = x.pseudonym`,
      [JSON.stringify([...excludedBy].map(([pseudonym, n]) => ({ pseudonym, n })))],
    );
  }
  let excluded = 0;
  for (const n of excludedBy.values()) excluded += n;
  return excluded;
}

/** For each pseudonym in the batch that has a consent record: does it deny HQUALIMP for (model, time)? */
async function consentDenials(
  tx: Queryable,
  records: ParsedRecord[],
): Promise<Map<string, (model: string, at: Date) => boolean>> {
  const patients = [...new Set(records.flatMap((r) => (r.patient ? [r.patient] : [])))];
  const out = new Map<string, (model: string, at: Date) => boolean>();
  if (patients.length === 0) return out;
  const { rows } = await tx.query<{ pseudonym: string; spec: ConsentRecordSpec }>(
    "SELECT pseudonym, spec FROM consent WHERE pseudonym IN (SELECT jsonb_array_elements_text($1::jsonb))",
    [JSON.stringify(patients)],
  );
  for (const row of rows)
    out.set(row.pseudonym, (model, at) => !consentPermits(row.spec, { purpose: "HQUALIMP", model, at }));
  return out;
}

async function trafficStats(
  tx: Queryable,
  namespace: string,
  model: string,
  since: Date,
): Promise<TrafficStats> {
  const { rows } = await tx.query<{ decision: DecisionClass; total: number; sampled: number }>(
    `SELECT decision, sum(total)::float8 AS total, sum(sampled)::float8 AS sampled FROM traffic
     WHERE namespace = $1 AND model = $2 AND bucket >= $3 GROUP BY decision`,
    [namespace, model, bucketOf(since).toISOString()],
  );
  const stats = emptyTraffic();
  for (const r of rows) {
    stats.total += r.total;
    stats.byClass[r.decision] = r.total;
    stats.sampled += r.sampled;
  }
  return stats;
}

/**
 * Inserts; a case already stored for its version (a retried batch) is skipped. Returns the rows inserted.
 * Ids are drawn in the batch's order, rows are then inserted in key order (version, case id; the first
 * occurrence of a repeated case first), so two concurrent batches holding the same cases wait for each other
 * on the unique key instead of deadlocking.
 * One statement per model: the rows travel as one jsonb array of positional arrays (no per-row key names,
 * about a third less to send and parse than an array of objects through jsonb_to_recordset).
 */
async function insertRecords(tx: Queryable, namespace: string, model: string, rows: Row[]): Promise<Row[]> {
  const payload = rows.map(recordValues);
  const { rows: ins } = await tx.query<{ version: string; case_id: string }>(
    `INSERT INTO records (id, namespace, model, version, case_id, time, bucket, patient, site, metadata, inputs,
       outputs, decision_label, decision_score, decision_positive, inclusion_prob, sampled)
     SELECT id, $1, $2, x->>0, x->>1, (x->>2)::timestamptz, (x->>3)::timestamptz, x->>4, x->>5, x->6, x->7, x->8,
       x->>9, (x->>10)::float8, (x->>11)::boolean, (x->>12)::float8, (x->>13)::boolean
     FROM (SELECT nextval('records_id_seq') AS id, x, i
           FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(x, i) OFFSET 0) s
     ORDER BY x->>0, x->>1, i
     ON CONFLICT (namespace, model, version, case_id) DO NOTHING
     RETURNING version, case_id`,
    [namespace, model, JSON.stringify(payload)],
  );
  if (ins.length === rows.length) return rows;
  const fresh = new Set(ins.map((r) => `${r.version}\u0000${r.case_id}`));
  const out: Row[] = [];
  for (const x of rows) {
    const k = `${x.r.version}\u0000${x.r.caseId}`;
    if (fresh.delete(k)) out.push(x); // first occurrence only: a case twice in one batch is stored once
  }
  return out;
}

/**
 * A stored record's values after namespace and model, in RECORD_COLUMNS' order: the positional array
 * insertRecords sends as jsonb and the tail of each row copyRecords sends as COPY text.
 */
function recordValues(x: Row) {
  return [
    x.r.version,
    x.r.caseId,
    x.time.toISOString(),
    x.bucket.toISOString(),
    x.r.patient ?? null,
    x.r.site ?? null,
    x.r.metadata ?? {},
    x.r.inputs,
    x.r.outputs,
    x.r.decision?.label ?? null,
    x.r.decision?.score ?? null,
    x.r.decision?.positive ?? null,
    x.pi,
    x.sampled,
  ];
}

const RECORD_COLUMNS = [
  "namespace",
  "model",
  "version",
  "case_id",
  "time",
  "bucket",
  "patient",
  "site",
  "metadata",
  "inputs",
  "outputs",
  "decision_label",
  "decision_score",
  "decision_positive",
  "inclusion_prob",
  "sampled",
] as const;

/**
 * insertRecords' effect by COPY, on an engine whose transactions run alone (PGlite): the batch's cases already
 * stored are read first and left out (and a case twice in the batch is copied once, its first occurrence), so
 * the COPY meets no duplicate key. Nothing can store one of these cases between the read and the COPY: no other
 * statement runs inside a PGlite transaction. COPY's text parsing (in C) costs about half of what turning one
 * jsonb parameter into rows does (docs/benchmarks.md, session 8).
 */
async function copyRecords(
  tx: Queryable,
  copyIn: NonNullable<Queryable["copyIn"]>,
  namespace: string,
  model: string,
  rows: Row[],
): Promise<Row[]> {
  const { rows: stored } = await tx.query<{ version: string; case_id: string }>(
    "SELECT version, case_id FROM records WHERE namespace = $1 AND model = $2 AND case_id = ANY($3::text[])",
    [namespace, model, [...new Set(rows.map((x) => x.r.caseId))]],
  );
  const seen = new Set(stored.map((r) => `${r.version}\u0000${r.case_id}`));
  const fresh: Row[] = [];
  for (const x of rows) {
    const k = `${x.r.version}\u0000${x.r.caseId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    fresh.push(x);
  }
  if (fresh.length === 0) return fresh;
  const copied = await copyIn(
    "records",
    RECORD_COLUMNS,
    copyText(fresh.map((x) => [namespace, model, ...recordValues(x)])),
  );
  if (copied !== fresh.length) throw new Error(`COPY stored ${copied} of ${fresh.length} records`);
  return fresh;
}

async function addTraffic(tx: Queryable, namespace: string, model: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const agg = new Map<
    string,
    { version: string; bucket: string; decision: DecisionClass; total: number; sampled: number }
  >();
  for (const x of rows) {
    const bucket = x.bucket.toISOString();
    const k = `${x.r.version}\u0000${bucket}\u0000${x.cls}`;
    const e = agg.get(k);
    if (e) {
      e.total += 1;
      if (x.sampled) e.sampled += 1;
    } else {
      agg.set(k, { version: x.r.version, bucket, decision: x.cls, total: 1, sampled: x.sampled ? 1 : 0 });
    }
  }
  await tx.query(
    `INSERT INTO traffic AS t (namespace, model, version, bucket, decision, total, sampled)
     SELECT $1, $2, version, bucket, decision, total, sampled
     FROM jsonb_to_recordset($3::jsonb) AS x(version text, bucket timestamptz, decision text, total bigint, sampled bigint)
     ORDER BY version, bucket, decision
     ON CONFLICT (namespace, model, version, bucket, decision) DO UPDATE SET
       total = t.total + EXCLUDED.total, sampled = t.sampled + EXCLUDED.sampled`,
    [namespace, model, JSON.stringify([...agg.values()])],
  );
}

/**
 * PGlite runs no autovacuum (no background workers), so its planner never learns the tables' sizes; on
 * PostgreSQL autovacuum may lag a burst of ingest by minutes. Either way a planner that believes the ledger is
 * empty joins it by sequential scan. The monitor therefore ANALYZEs the ledger's tables itself after the first
 * 1,000 records and then each time the records grew by half of what the previous ANALYZE had counted. (Sizing
 * the threshold from the count the new ANALYZE measures instead analyzes less often; measured on PGlite, the
 * 100,000-record window then evaluated in ~180 ms instead of ~145 ms on statistics that were older.)
 *
 * Only the records columns a WHERE, JOIN or ORDER BY uses get statistics: no query filters on metadata, inputs
 * or outputs as whole values (metadata->>'…' has no expression statistics either), and their jsonb statistics
 * were most of ANALYZE's cost (PGlite, 45,000 records: 0.8 s CPU with them, 0.17 s without).
 */
export const ANALYZE_LEDGER =
  "ANALYZE records (namespace, model, version, case_id, time, bucket, patient, site, sampled, annotated, id), " +
  "annotations, rollup_numeric, rollup_categorical, traffic";
const analyzed = new WeakMap<object, { since: number; threshold: number }>();
async function analyzeWhenGrown(ctx: MonitorContext, added: number): Promise<void> {
  if (added === 0) return;
  const state = analyzed.get(ctx.db) ?? { since: 0, threshold: 1000 };
  state.since += added;
  analyzed.set(ctx.db, state);
  if (state.since < state.threshold) return;
  const total = await ctx.db.query<{ n: number }>(
    "SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'records'",
  );
  await ctx.db.exec(ANALYZE_LEDGER);
  state.since = 0;
  state.threshold = Math.max(1000, Math.round(Math.max(0, total.rows[0]?.n ?? 0) / 2));
}
