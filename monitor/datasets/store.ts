/**
 * Datasets on the monitor's database: freeze (select in SQL, decide in select.ts, store), read back, evaluation
 * reports, taint lookup, kept cases and their erasure. Tables: migrations/051_datasets.sql.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { ConsentRecordSpec } from "../../crds/index.ts";
import { consentPermits } from "../consent-decision.ts";
import type { Db, Queryable } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import type { EvaluationReport } from "./report.ts";
import { type CaseRow, selectDataset } from "./select.ts";
import type { DatasetCases, DatasetSummary } from "./wire.ts";
import type { z } from "zod";
import type { FreezeRequestSchema } from "./wire.ts";

type Freeze = z.output<typeof FreezeRequestSchema>;

interface Candidate {
  case_id: string;
  patient: string | null;
  site: string | null;
  time: Date;
  inputs: Record<string, number>;
  positive: boolean | null;
  value: number | null;
  annotated: boolean;
}

const CANDIDATES = `
SELECT DISTINCT ON (r.case_id)
  r.case_id, r.patient, r.site, r.time, r.inputs,
  COALESCE(ar.positive, ap.positive) AS positive,
  COALESCE(ar.value, ap.value) AS value,
  (ar.case_id IS NOT NULL OR ap.case_id IS NOT NULL) AS annotated
FROM records r
LEFT JOIN annotations ar
  ON ar.namespace = r.namespace AND ar.model = r.model AND ar.case_id = r.case_id AND ar.source = 'reader'
LEFT JOIN annotations ap
  ON ap.namespace = r.namespace AND ap.model = r.model AND ap.case_id = r.case_id AND ap.source = 'report'
WHERE r.namespace = $1 AND r.model = $2 AND r.time < $3::timestamptz
  AND ($4::text[] IS NULL OR r.site = ANY($4::text[]))
  AND ($5::text[] IS NULL OR r.metadata->>'Modality' = ANY($5::text[]))
ORDER BY r.case_id, r.time DESC`;

interface DatasetRow {
  id: string;
  namespace: string;
  model: string;
  job: string;
  request: unknown;
  manifest_sha256: string;
  train_cases: number;
  test_cases: number;
  excluded_by_consent: number;
  historical: number;
  sites: string[];
  created_at: Date;
}

function summary(r: DatasetRow): DatasetSummary {
  return {
    id: r.id,
    namespace: r.namespace,
    model: r.model,
    job: r.job,
    manifestSha256: r.manifest_sha256,
    cases: r.train_cases,
    testCases: r.test_cases,
    excludedByConsent: r.excluded_by_consent,
    historical: r.historical,
    sites: r.sites,
    createdAt: r.created_at.toISOString(),
  };
}

const SUMMARY_COLS =
  "id, namespace, model, job, request, manifest_sha256, train_cases, test_cases, excluded_by_consent, historical, sites, created_at";

export async function getDataset(db: Queryable, id: string): Promise<DatasetSummary | undefined> {
  const { rows } = await db.query<DatasetRow>(`SELECT ${SUMMARY_COLS} FROM datasets WHERE id = $1`, [id]);
  return rows[0] && summary(rows[0]);
}

/** Freezes once: a repeat of the same request returns the stored dataset; a different one is a 409. */
export async function freezeDataset(
  db: Db,
  id: string,
  req: Freeze,
): Promise<{ created: boolean; dataset: DatasetSummary }> {
  return db.transaction(async (tx) => {
    // one freeze per id at a time (a retried reconcile may race its first attempt)
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`dataset:${id}`]);
    const existing = await tx.query<DatasetRow>(`SELECT ${SUMMARY_COLS} FROM datasets WHERE id = $1`, [id]);
    const row = existing.rows[0];
    if (row) {
      if (canonicalize(row.request) !== canonicalize(canonicalRequest(req))) {
        throw new ApiError(
          409,
          "DATASET_IMMUTABLE",
          "a dataset with this id was frozen from a different request",
        );
      }
      return { created: false, dataset: summary(row) };
    }
    const d = req.dataset;
    const until = d.until ?? req.startedAt;
    const { rows } = await tx.query<Candidate>(CANDIDATES, [
      req.namespace,
      req.model,
      until,
      d.sites && d.sites.length > 0 ? d.sites : null,
      d.modalities && d.modalities.length > 0 ? d.modalities : null,
    ]);
    const sinceMs = d.since ? Date.parse(d.since) : undefined;
    const usable = rows.filter((r) => !d.annotatedOnly || r.annotated);
    const patients = [...new Set(usable.map((r) => r.patient).filter((p): p is string => p !== null))];
    const consent = new Map<string, ConsentRecordSpec>();
    if (patients.length > 0) {
      const c = await tx.query<{ pseudonym: string; spec: ConsentRecordSpec }>(
        "SELECT pseudonym, spec FROM consent WHERE pseudonym = ANY($1::text[])",
        [patients],
      );
      for (const r of c.rows) consent.set(r.pseudonym, r.spec);
    }
    const byCase = new Map(usable.map((r) => [r.case_id, r]));
    const caseRows: CaseRow[] = usable.map((r) => ({
      caseId: r.case_id,
      patient: r.patient,
      site: r.site,
      time: r.time.toISOString(),
      label: r.annotated
        ? {
            ...(r.positive !== null ? { positive: r.positive } : {}),
            ...(r.value !== null ? { value: r.value } : {}),
          }
        : null,
      historical: sinceMs !== undefined && r.time.getTime() < sinceMs,
    }));
    const sel = selectDataset(caseRows, {
      datasetId: id,
      seed: id,
      historicalFraction: d.historicalFraction,
      testFraction: d.sequesteredTestFraction,
      permitted: (c) => {
        const spec = c.patient ? consent.get(c.patient) : undefined;
        return !spec || consentPermits(spec, { purpose: d.purpose, model: req.model, at: new Date(c.time) });
      },
    });
    const inserted = await tx.query<DatasetRow>(
      `INSERT INTO datasets (id, namespace, model, job, request, manifest, manifest_sha256, train_cases, test_cases,
         excluded_by_consent, historical, sites)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[]) RETURNING ${SUMMARY_COLS}`,
      [
        id,
        req.namespace,
        req.model,
        req.job,
        JSON.stringify(canonicalRequest(req)),
        JSON.stringify(sel.manifest),
        sel.manifestSha256,
        sel.counts.train,
        sel.counts.test,
        sel.counts.excludedByConsent,
        sel.counts.historical,
        sel.counts.sites,
      ],
    );
    // one multi-row insert per 500 cases keeps a large freeze to a few statements
    const cases = sel.manifest.cases;
    for (let i = 0; i < cases.length; i += 500) {
      const chunk = cases.slice(i, i + 500);
      const params: unknown[] = [];
      const values = chunk.map((c) => {
        const r = byCase.get(c.caseId) as Candidate;
        params.push(
          id,
          c.caseId,
          r.patient,
          c.site,
          c.split,
          JSON.stringify(c.label),
          JSON.stringify(r.inputs ?? {}),
        );
        const b = params.length - 7;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`;
      });
      await tx.query(
        `INSERT INTO dataset_cases (dataset_id, case_id, patient, site, split, label, features) VALUES ${values.join(", ")}`,
        params,
      );
    }
    return { created: true, dataset: summary(inserted.rows[0] as DatasetRow) };
  });
}

/** The request as stored and compared: JSON of the parsed (defaulted) request, keys in a fixed order. */
function canonicalRequest(req: Freeze): unknown {
  const d = req.dataset;
  return {
    namespace: req.namespace,
    model: req.model,
    job: req.job,
    startedAt: new Date(req.startedAt).toISOString(),
    dataset: {
      since: d.since ?? null,
      until: d.until ?? null,
      sites: d.sites ?? null,
      modalities: d.modalities ?? null,
      annotatedOnly: d.annotatedOnly,
      purpose: d.purpose,
      historicalFraction: d.historicalFraction,
      sequesteredTestFraction: d.sequesteredTestFraction,
    },
  };
}

export async function datasetCases(
  db: Queryable,
  id: string,
  split: "train" | "test",
): Promise<DatasetCases | undefined> {
  const ds = await db.query<{ namespace: string; model: string; manifest_sha256: string }>(
    "SELECT namespace, model, manifest_sha256 FROM datasets WHERE id = $1",
    [id],
  );
  const d = ds.rows[0];
  if (!d) return undefined;
  const { rows } = await db.query<{
    case_id: string;
    site: string | null;
    label: DatasetCases["cases"][number]["label"];
    features: Record<string, number>;
    has_image: boolean;
  }>(
    `SELECT c.case_id, c.site, c.label, c.features, (k.case_id IS NOT NULL) AS has_image
     FROM dataset_cases c
     LEFT JOIN kept_cases k ON k.namespace = $2 AND k.model = $3 AND k.case_id = c.case_id
     WHERE c.dataset_id = $1 AND c.split = $4 ORDER BY c.case_id`,
    [id, d.namespace, d.model, split],
  );
  return {
    datasetId: id,
    manifestSha256: d.manifest_sha256,
    split,
    cases: rows.map((r) => ({
      caseId: r.case_id,
      site: r.site,
      label: r.label,
      features: r.features,
      hasImage: r.has_image,
    })),
  };
}

/** The kept DICOM of a case that belongs to the dataset (a dataset only ever hands out its own cases). */
export async function datasetCaseDicom(
  db: Queryable,
  id: string,
  caseId: string,
): Promise<Uint8Array | undefined> {
  const { rows } = await db.query<{ dicom: Uint8Array }>(
    `SELECT k.dicom FROM dataset_cases c JOIN datasets d ON d.id = c.dataset_id
     JOIN kept_cases k ON k.namespace = d.namespace AND k.model = d.model AND k.case_id = c.case_id
     WHERE c.dataset_id = $1 AND c.case_id = $2`,
    [id, caseId],
  );
  return rows[0]?.dicom;
}

export async function putEvaluation(db: Queryable, id: string, report: EvaluationReport): Promise<boolean> {
  const r = await db.query("UPDATE datasets SET evaluation = $2 WHERE id = $1", [id, JSON.stringify(report)]);
  return r.rowCount > 0;
}

export async function getEvaluation(db: Queryable, id: string): Promise<EvaluationReport | null | undefined> {
  const { rows } = await db.query<{ evaluation: EvaluationReport | null }>(
    "SELECT evaluation FROM datasets WHERE id = $1",
    [id],
  );
  return rows[0] ? rows[0].evaluation : undefined;
}

export async function datasetsContaining(db: Queryable, pseudonym: string) {
  const { rows } = await db.query<{ id: string; namespace: string; job: string }>(
    `SELECT DISTINCT d.id, d.namespace, d.job FROM dataset_cases c JOIN datasets d ON d.id = c.dataset_id
     WHERE c.patient = $1 ORDER BY d.namespace, d.job`,
    [pseudonym],
  );
  return rows;
}

export async function putKeptCase(
  db: Queryable,
  ref: { namespace: string; model: string; caseId: string; patient: string | null },
  dicom: Uint8Array,
): Promise<void> {
  await db.query(
    `INSERT INTO kept_cases (namespace, model, case_id, patient, dicom, sha256) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (namespace, model, case_id) DO UPDATE SET patient = EXCLUDED.patient, dicom = EXCLUDED.dicom,
       sha256 = EXCLUDED.sha256, received_at = now()`,
    [
      ref.namespace,
      ref.model,
      ref.caseId,
      ref.patient,
      dicom,
      createHash("sha256").update(dicom).digest("hex"),
    ],
  );
}

/**
 * Erases a patient's kept DICOM instances and the feature copies frozen into datasets (GDPR Art. 17). The
 * datasets' membership rows stay (case id, split, label), so the manifest digests still verify and the
 * RetrainJobs trained on the patient can still be named (the data cannot be un-learned).
 */
export async function eraseKeptCases(db: Db, pseudonym: string): Promise<number> {
  return db.transaction(async (tx) => {
    const k = await tx.query("DELETE FROM kept_cases WHERE patient = $1", [pseudonym]);
    await tx.query("UPDATE dataset_cases SET features = '{}'::jsonb WHERE patient = $1", [pseudonym]);
    return k.rowCount;
  });
}
