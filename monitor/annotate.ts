/**
 * POST /v1/annotations: the reference standard. One annotation per case and source (a later one replaces an
 * earlier one of the same source); the first annotation of a case takes it off the worklist and out of the
 * backlog. An annotation may arrive before its record; it is kept and joins at evaluation.
 */
import type { MonitorContext } from "./context.ts";
import type { Queryable } from "./db/index.ts";
import { type AnnotationsResponse, parseAnnotation } from "./wire.ts";

export async function ingestAnnotations(
  ctx: MonitorContext,
  annotations: readonly unknown[],
): Promise<AnnotationsResponse> {
  const rejected: { index: number; code: string }[] = [];
  const valid: Record<string, unknown>[] = [];
  const seen = new Map<string, number>();
  annotations.forEach((value, index) => {
    const p = parseAnnotation(value);
    if (!p.ok) {
      rejected.push({ index, code: p.code });
      return;
    }
    const a = p.annotation;
    const row = {
      namespace: a.namespace,
      model: a.model,
      case_id: a.caseId,
      source: a.source,
      positive: a.positive ?? null,
      value: a.value ?? null,
      dice: a.dice ?? null,
      time: a.time,
    };
    // the same case and source twice in one call: the last one wins (an upsert cannot touch a row twice)
    const k = `${a.namespace}/${a.model}/${a.caseId}/${a.source}`;
    const at = seen.get(k);
    if (at === undefined) {
      seen.set(k, valid.length);
      valid.push(row);
    } else {
      valid[at] = row;
    }
  });
  if (valid.length > 0) await ctx.db.transaction((tx) => store(tx, valid));
  const accepted = annotations.length - rejected.length;
  ctx.metrics.annotationsAccepted.inc(accepted);
  for (const r of rejected) ctx.metrics.annotationsRejected.inc({ code: r.code });
  return { accepted, rejected };
}

async function store(tx: Queryable, rows: Record<string, unknown>[]): Promise<void> {
  const json = JSON.stringify(rows);
  await tx.query(
    `INSERT INTO annotations (namespace, model, case_id, source, positive, value, dice, time)
     SELECT namespace, model, case_id, source, positive, value, dice, time
     FROM jsonb_to_recordset($1::jsonb) AS x(namespace text, model text, case_id text, source text,
       positive boolean, value float8, dice float8, time timestamptz)
     ON CONFLICT (namespace, model, case_id, source) DO UPDATE SET
       positive = EXCLUDED.positive, value = EXCLUDED.value, dice = EXCLUDED.dice, time = EXCLUDED.time,
       received_at = now()`,
    [json],
  );
  // Newly annotated sampled cases leave the backlog of their traffic bucket.
  await tx.query(
    `WITH done AS (
       UPDATE records r SET annotated = true
       FROM (SELECT DISTINCT namespace, model, case_id
             FROM jsonb_to_recordset($1::jsonb) AS x(namespace text, model text, case_id text)) x
       WHERE r.namespace = x.namespace AND r.model = x.model AND r.case_id = x.case_id AND NOT r.annotated
       RETURNING r.namespace, r.model, r.version, r.bucket, r.sampled,
         CASE WHEN r.decision_positive IS NULL THEN 'none' WHEN r.decision_positive THEN 'positive' ELSE 'negative' END AS decision
     ), agg AS (
       SELECT namespace, model, version, bucket, decision, count(*) AS n FROM done WHERE sampled
       GROUP BY namespace, model, version, bucket, decision
     )
     UPDATE traffic t SET annotated = t.annotated + agg.n FROM agg
     WHERE t.namespace = agg.namespace AND t.model = agg.model AND t.version = agg.version
       AND t.bucket = agg.bucket AND t.decision = agg.decision`,
    [json],
  );
}
