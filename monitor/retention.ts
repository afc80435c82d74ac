/**
 * The retention sweep (`--retention-days N`): deletes raw records whose `time` is older than N days and the
 * annotations of their cases (per-record data), in batches of ids — one short transaction each, then a pause as long
 * as the batch took, so ingest gets in. Roll-ups and traffic counts (aggregates, no per-record data) are kept:
 * drift over any window stays complete; per-record metrics over a window that reaches past the cutoff are
 * reported as insufficient by evaluation (retention-decision.ts). The audit log, frozen datasets and their kept
 * DICOM follow their own lifecycle (docs/security.md). On PGlite (no autovacuum) a sweep that deleted rows
 * ends with VACUUM of the two tables, so the space is reused and deleted rows do not linger in the data files.
 */
import type { MonitorContext } from "./context.ts";
import type { Db } from "./db/index.ts";
import {
  DEFAULT_SWEEP_BATCH,
  DEFAULT_SWEEP_INTERVAL_MS,
  idChunks,
  pauseAfterBatch,
  type RetentionConfig,
  retentionCutoff,
  sweepDue,
} from "./retention-decision.ts";

export interface SweepResult {
  records: number;
  annotations: number;
  batches: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One sweep: everything with time < cutoff, batch ids at a time. */
export async function sweepRetention(
  db: Db,
  cutoff: Date,
  batch = DEFAULT_SWEEP_BATCH,
): Promise<SweepResult> {
  const result: SweepResult = { records: 0, annotations: 0, batches: 0 };
  const { rows } = await db.query<{ lo: number | null; hi: number | null }>(
    "SELECT min(id)::float8 AS lo, max(id)::float8 AS hi FROM records",
  );
  const { lo, hi } = rows[0] ?? { lo: null, hi: null };
  const at = cutoff.toISOString();
  if (lo !== null && hi !== null) {
    for (const [from, to] of idChunks(lo, hi, batch)) {
      const started = performance.now();
      const n = await db.transaction(async (tx) => {
        const gone = await tx.query<{ namespace: string; model: string; case_id: string }>(
          "DELETE FROM records WHERE id > $1 AND id <= $2 AND time < $3 RETURNING namespace, model, case_id",
          [from, to, at],
        );
        if (gone.rowCount === 0) return { records: 0, annotations: 0 };
        // the annotations of cases no version of which is left (a case can have records of several versions)
        const ann = await tx.query(
          `DELETE FROM annotations a USING (SELECT DISTINCT namespace, model, case_id
             FROM jsonb_to_recordset($1::jsonb) AS x(namespace text, model text, case_id text)) x
           WHERE a.namespace = x.namespace AND a.model = x.model AND a.case_id = x.case_id
             AND NOT EXISTS (SELECT 1 FROM records r
               WHERE r.namespace = x.namespace AND r.model = x.model AND r.case_id = x.case_id)`,
          [JSON.stringify(gone.rows)],
        );
        return { records: gone.rowCount, annotations: ann.rowCount };
      });
      result.records += n.records;
      result.annotations += n.annotations;
      result.batches += 1;
      await pause(pauseAfterBatch(performance.now() - started));
    }
  }
  // annotations older than the cutoff whose record never arrived (or was deleted before this sweep)
  for (;;) {
    const ann = await db.query(
      `DELETE FROM annotations WHERE (namespace, model, case_id, source) IN (
         SELECT a.namespace, a.model, a.case_id, a.source FROM annotations a
         WHERE a.time < $1 AND NOT EXISTS (SELECT 1 FROM records r
           WHERE r.namespace = a.namespace AND r.model = a.model AND r.case_id = a.case_id)
         LIMIT $2)`,
      [at, batch],
    );
    result.annotations += ann.rowCount;
    if (ann.rowCount < batch) break;
    await pause(1);
  }
  if (db.engine === "pglite" && result.records + result.annotations > 0) {
    await db.exec("VACUUM records");
    await db.exec("VACUUM annotations");
  }
  return result;
}

export interface RetentionRunner {
  /** Runs a sweep now (or waits for the one running) and resolves with what it deleted. */
  sweepNow(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/** Sweeps once at start and then every interval (the clock is ctx.now); one sweep at a time. */
export function startRetention(ctx: MonitorContext, config: RetentionConfig): RetentionRunner {
  const interval = config.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  let last: Date | undefined;
  let running: Promise<SweepResult> | undefined;
  let stopped = false;
  const sweep = (): Promise<SweepResult> => {
    if (running) return running;
    const started = ctx.now();
    last = started;
    running = sweepRetention(ctx.db, retentionCutoff(started, config.days), config.batchSize)
      .then((r) => {
        ctx.metrics.retentionDeleted.inc({ table: "records" }, r.records);
        ctx.metrics.retentionDeleted.inc({ table: "annotations" }, r.annotations);
        if (r.records + r.annotations > 0)
          ctx.log.info(
            { records: r.records, annotations: r.annotations, batches: r.batches },
            "retention sweep",
          );
        return r;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const tick = () => {
    if (stopped || !sweepDue(last, ctx.now(), interval)) return;
    // database errors can quote values: log the class only; the next tick tries again
    sweep().catch((err: unknown) =>
      ctx.log.error(
        { error: err instanceof Error ? err.constructor.name : "unknown" },
        "retention sweep failed",
      ),
    );
  };
  const timer = setInterval(tick, Math.min(interval, 60_000));
  timer.unref();
  setImmediate(tick);
  return {
    sweepNow: sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
