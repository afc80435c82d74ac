/**
 * Erasure of a patient's stored records (GDPR Art. 17): records, the annotations of their cases, and their
 * contributions to roll-ups and traffic counts (min/max of a roll-up bucket are kept: they cannot be
 * un-merged; docs/monitor.md). One transaction: all or nothing.
 */
import type { Queryable } from "./db/index.ts";
import { applyDeltas, computeDeltas, loadProfiles, lockModels, pruneEmpty } from "./rollups.ts";

interface Stored {
  namespace: string;
  model: string;
  version: string;
  case_id: string;
  bucket: Date;
  inputs: Record<string, number>;
  outputs: Record<string, number>;
  metadata: Record<string, string | number>;
  sampled: boolean;
  annotated: boolean;
  decision: string;
}

export async function erasePatient(
  tx: Queryable,
  pseudonym: string,
): Promise<{ records: number; annotations: number }> {
  const { rows } = await tx.query<Stored>(
    `SELECT namespace, model, version, case_id, bucket, inputs, outputs, metadata, sampled, annotated,
       CASE WHEN decision_positive IS NULL THEN 'none' WHEN decision_positive THEN 'positive' ELSE 'negative' END AS decision
     FROM records WHERE patient = $1`,
    [pseudonym],
  );
  if (rows.length === 0) return { records: 0, annotations: 0 };
  const byModel = new Map<string, Stored[]>();
  for (const r of rows) {
    const k = `${r.namespace}/${r.model}`;
    const list = byModel.get(k);
    if (list) list.push(r);
    else byModel.set(k, [r]);
  }
  await lockModels(tx, byModel.keys(), "shared");
  // models in one order, as ingest takes them (ingest.ts: concurrent batches lock roll-up rows in one order)
  for (const [, list] of [...byModel].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const { namespace, model } = list[0]!;
    const profiles = await loadProfiles(
      tx,
      namespace,
      model,
      list.map((r) => r.version),
    );
    await applyDeltas(tx, namespace, model, computeDeltas(list, profiles, -1));
    await pruneEmpty(tx, namespace, model);
    const traffic = new Map<
      string,
      { version: string; bucket: string; decision: string; total: number; sampled: number; annotated: number }
    >();
    for (const r of list) {
      const bucket = new Date(r.bucket).toISOString();
      const k = `${r.version}\u0000${bucket}\u0000${r.decision}`;
      const e = traffic.get(k) ?? {
        version: r.version,
        bucket,
        decision: r.decision,
        total: 0,
        sampled: 0,
        annotated: 0,
      };
      e.total += 1;
      if (r.sampled) e.sampled += 1;
      if (r.sampled && r.annotated) e.annotated += 1;
      traffic.set(k, e);
    }
    await tx.query(
      `UPDATE traffic t SET total = t.total - x.total, sampled = t.sampled - x.sampled, annotated = t.annotated - x.annotated
       FROM jsonb_to_recordset($3::jsonb) AS x(version text, bucket timestamptz, decision text, total bigint, sampled bigint, annotated bigint)
       WHERE t.namespace = $1 AND t.model = $2 AND t.version = x.version AND t.bucket = x.bucket AND t.decision = x.decision`,
      [namespace, model, JSON.stringify([...traffic.values()])],
    );
  }
  const cases = JSON.stringify(
    rows.map((r) => ({ namespace: r.namespace, model: r.model, case_id: r.case_id })),
  );
  const ann = await tx.query(
    `DELETE FROM annotations a USING (SELECT DISTINCT namespace, model, case_id
       FROM jsonb_to_recordset($1::jsonb) AS x(namespace text, model text, case_id text)) x
     WHERE a.namespace = x.namespace AND a.model = x.model AND a.case_id = x.case_id`,
    [cases],
  );
  const rec = await tx.query("DELETE FROM records WHERE patient = $1", [pseudonym]);
  await tx.query("UPDATE consent SET erased = erased + $2 WHERE pseudonym = $1", [pseudonym, rec.rowCount]);
  return { records: rec.rowCount, annotations: ann.rowCount };
}
