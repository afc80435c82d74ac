/**
 * HTTP calls for datasets and kept cases (global fetch + zod; no server imports). Methods of MonitorClient
 * delegate here. Errors: DatasetHttpError {status, code}; a network failure rejects with the fetch error.
 */
import { z } from "zod";
import { type EvaluationReport, EvaluationReportSchema } from "./report.ts";
import {
  type DatasetCases,
  DatasetCasesSchema,
  type DatasetSummary,
  DatasetSummarySchema,
  ErasedCasesSchema,
  type FreezeRequest,
  TaintedSchema,
} from "./wire.ts";

export class DatasetHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DatasetHttpError";
  }
}

async function call(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(60_000) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as unknown;
    const err = z.object({ error: z.string(), code: z.string() }).safeParse(body);
    throw new DatasetHttpError(
      res.status,
      err.success ? err.data.code : "HTTP_ERROR",
      err.success ? err.data.error : `monitor answered ${res.status}`,
    );
  }
  return res;
}
const json = (body: unknown): RequestInit => ({
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const u = (base: string, path: string) => new URL(path, base).href;

/** Freezes (idempotently) the dataset `id` (the RetrainJob's uid); the same request returns the same manifest. */
export async function freezeDatasetAt(base: string, id: string, req: FreezeRequest): Promise<DatasetSummary> {
  const res = await call(u(base, `/v1/datasets/${encodeURIComponent(id)}`), { method: "PUT", ...json(req) });
  return DatasetSummarySchema.parse(await res.json());
}

/** undefined when the monitor has no such dataset. */
export async function getDatasetAt(base: string, id: string): Promise<DatasetSummary | undefined> {
  try {
    const res = await call(u(base, `/v1/datasets/${encodeURIComponent(id)}`));
    return DatasetSummarySchema.parse(await res.json());
  } catch (e) {
    if (e instanceof DatasetHttpError && e.status === 404) return undefined;
    throw e;
  }
}

export async function getDatasetCasesAt(
  base: string,
  id: string,
  split: "train" | "test",
): Promise<DatasetCases> {
  const res = await call(u(base, `/v1/datasets/${encodeURIComponent(id)}/cases?split=${split}`));
  return DatasetCasesSchema.parse(await res.json());
}

export async function getCaseDicomAt(base: string, id: string, caseId: string): Promise<Uint8Array> {
  const res = await call(
    u(base, `/v1/datasets/${encodeURIComponent(id)}/cases/${encodeURIComponent(caseId)}/dicom`),
  );
  return new Uint8Array(await res.arrayBuffer());
}

export async function putEvaluationAt(base: string, id: string, report: EvaluationReport): Promise<void> {
  await call(u(base, `/v1/datasets/${encodeURIComponent(id)}/evaluation`), {
    method: "PUT",
    ...json(report),
  });
}

export async function getEvaluationAt(base: string, id: string): Promise<EvaluationReport | undefined> {
  try {
    const res = await call(u(base, `/v1/datasets/${encodeURIComponent(id)}/evaluation`));
    return EvaluationReportSchema.parse(await res.json());
  } catch (e) {
    if (e instanceof DatasetHttpError && e.status === 404) return undefined;
    throw e;
  }
}

/** The datasets (and their RetrainJobs) that hold any case of this patient. */
export async function datasetsContainingAt(base: string, pseudonym: string) {
  const res = await call(u(base, "/v1/datasets/containing"), { method: "POST", ...json({ pseudonym }) });
  return TaintedSchema.parse(await res.json()).datasets;
}

/** Stores a de-identified DICOM instance of a case, for later datasets (PUT, idempotent). */
export async function putKeptCaseAt(
  base: string,
  ref: { namespace: string; model: string; caseId: string; patient?: string },
  dicom: Uint8Array,
): Promise<void> {
  await call(
    u(
      base,
      `/v1/cases/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.model)}/${encodeURIComponent(ref.caseId)}`,
    ),
    {
      method: "PUT",
      // the pseudonym travels in a header, never in the URL (URLs end up in access logs)
      headers: {
        "content-type": "application/dicom",
        ...(ref.patient ? { "x-medmlops-patient": ref.patient } : {}),
      },
      body: dicom,
    },
  );
}

/** Erases every kept case of a patient; returns how many. */
export async function eraseKeptCasesAt(base: string, pseudonym: string): Promise<number> {
  const res = await call(u(base, "/v1/cases/erase"), { method: "POST", ...json({ pseudonym }) });
  return ErasedCasesSchema.parse(await res.json()).erased;
}
