/**
 * A small typed client of the monitor's HTTP API (global fetch + zod). No fastify, no storage engine: the
 * operator's controllers and the sidecar import it cheaply. Errors the monitor answers surface as
 * `MonitorError { status, code }`; a monitor that cannot be reached (refused, reset, timed out) as
 * `MonitorUnavailableError`, so callers can fail safe (a monitoring outage never fails a model over).
 */
import type { z } from "zod";
import { type ClientTlsFiles, securedFetch } from "../common/tls/client.ts";
import {
  type Annotation,
  type AnnotationsResponse,
  AnnotationsResponseSchema,
  type ConsentResponse,
  ConsentResponseSchema,
  ErrorBodySchema,
  type EraseResponse,
  EraseResponseSchema,
  type EvaluateRequest,
  type EvaluateResponse,
  EvaluateResponseSchema,
  type FreezeReference,
  type MonitorRecord,
  type PutConsent,
  type PutPolicy,
  type RecordsResponse,
  RecordsResponseSchema,
  type ReferenceResponse,
  ReferenceResponseSchema,
  type WorklistResponse,
  WorklistResponseSchema,
} from "./wire.ts";
import type { AuditEntry, AuditInput } from "./audit/entry.ts";
import { AuditAppendedSchema, AuditPageSchema } from "./audit/wire.ts";
import { type EvaluationReport, EvaluationReportSchema } from "./datasets/report.ts";
import {
  type DatasetCases,
  DatasetCasesSchema,
  type DatasetSummary,
  DatasetSummarySchema,
  ErasedCasesSchema,
  type FreezeRequest,
  TaintedSchema,
} from "./datasets/wire.ts";

export type * from "./wire.ts";
export type { ClientTlsFiles } from "../common/tls/client.ts";
export type { AuditEntry, AuditInput, DatasetCases, DatasetSummary, EvaluationReport, FreezeRequest };

export class MonitorError extends Error {
  override name = "MonitorError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class MonitorUnavailableError extends Error {
  override name = "MonitorUnavailableError";
}

export interface MonitorClientOptions {
  /** Per-request timeout (default 30 s; evaluation over a large window can take a second). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** CA file, client certificate and/or bearer token for a monitor that serves TLS or requires a credential. */
  tls?: ClientTlsFiles;
}

const seg = (s: string) => encodeURIComponent(s);

export class MonitorClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, opts: MonitorClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#fetch = opts.fetch ?? (opts.tls ? securedFetch(opts.tls) : fetch);
  }

  postRecords(records: MonitorRecord[]): Promise<RecordsResponse> {
    return this.#call("POST", "/v1/records", { records }, RecordsResponseSchema);
  }

  postAnnotations(annotations: Annotation[]): Promise<AnnotationsResponse> {
    return this.#call("POST", "/v1/annotations", { annotations }, AnnotationsResponseSchema);
  }

  /** Stores a reference profile document, or freezes one from stored records ({fromRecords} | {firstRecords}). */
  putReference(
    namespace: string,
    model: string,
    version: string,
    body: FreezeReference | Record<string, unknown>,
  ): Promise<ReferenceResponse> {
    return this.#call(
      "PUT",
      `/v1/references/${seg(namespace)}/${seg(model)}/${seg(version)}`,
      body,
      ReferenceResponseSchema,
    );
  }

  async putPolicy(namespace: string, name: string, body: PutPolicy): Promise<void> {
    await this.#call("PUT", `/v1/policies/${seg(namespace)}/${seg(name)}`, body, undefined);
  }

  async deletePolicy(namespace: string, name: string): Promise<void> {
    await this.#call("DELETE", `/v1/policies/${seg(namespace)}/${seg(name)}`, undefined, undefined);
  }

  evaluatePolicy(namespace: string, name: string, body: EvaluateRequest): Promise<EvaluateResponse> {
    return this.#call(
      "POST",
      `/v1/policies/${seg(namespace)}/${seg(name)}/evaluate`,
      body,
      EvaluateResponseSchema,
    );
  }

  worklist(q: { namespace: string; model: string; limit?: number }): Promise<WorklistResponse> {
    const qs = new URLSearchParams({ namespace: q.namespace, model: q.model });
    if (q.limit !== undefined) qs.set("limit", String(q.limit));
    return this.#call("GET", `/v1/worklist?${qs}`, undefined, WorklistResponseSchema);
  }

  putConsent(pseudonym: string, spec: PutConsent): Promise<ConsentResponse> {
    return this.#call("PUT", `/v1/consent/${seg(pseudonym)}`, spec, ConsentResponseSchema);
  }

  async deleteConsent(pseudonym: string): Promise<void> {
    await this.#call("DELETE", `/v1/consent/${seg(pseudonym)}`, undefined, undefined);
  }

  eraseConsent(pseudonym: string): Promise<EraseResponse> {
    return this.#call("POST", `/v1/consent/${seg(pseudonym)}/erase`, {}, EraseResponseSchema);
  }

  // ── audit log (issue 14, contract C4; docs/audit.md) ──────────────────────────────────────────────────

  /**
   * Appends one governance event; resolves once it is durable. Details must not hold pseudonyms. With a `key`
   * the monitor already stored, resolves with that entry and `duplicate: true` (nothing appended).
   */
  appendAudit(entry: AuditInput): Promise<{ seq: number; hash: string; duplicate?: boolean | undefined }> {
    return this.#call("POST", "/v1/audit", entry, AuditAppendedSchema);
  }

  /** Every entry in [since, until), in seq order, paging through GET /v1/audit. */
  async *listAudit(range: { since?: string; until?: string } = {}): AsyncGenerator<AuditEntry> {
    let afterSeq: number | null = 0;
    while (afterSeq !== null) {
      const qs = new URLSearchParams({ afterSeq: String(afterSeq) });
      if (range.since) qs.set("since", range.since);
      if (range.until) qs.set("until", range.until);
      const page: { entries: AuditEntry[]; nextAfterSeq: number | null } = await this.#call(
        "GET",
        `/v1/audit?${qs}`,
        undefined,
        AuditPageSchema,
      );
      yield* page.entries;
      afterSeq = page.nextAfterSeq;
    }
  }

  // ── retraining datasets (issue 14; docs/retraining.md) ───────────────────────────────────────────────

  /** Freezes dataset `id` (the RetrainJob's uid) once; the same request again returns the same manifest. */
  freezeDataset(id: string, req: FreezeRequest): Promise<DatasetSummary> {
    return this.#call("PUT", `/v1/datasets/${seg(id)}`, req, DatasetSummarySchema);
  }

  /** undefined when the monitor holds no such dataset. */
  async getDataset(id: string): Promise<DatasetSummary | undefined> {
    return this.#orUndefined(this.#call("GET", `/v1/datasets/${seg(id)}`, undefined, DatasetSummarySchema));
  }

  getDatasetCases(id: string, split: "train" | "test"): Promise<DatasetCases> {
    return this.#call("GET", `/v1/datasets/${seg(id)}/cases?split=${split}`, undefined, DatasetCasesSchema);
  }

  async putEvaluation(id: string, report: EvaluationReport): Promise<void> {
    await this.#call("PUT", `/v1/datasets/${seg(id)}/evaluation`, report, undefined);
  }

  async getEvaluation(id: string): Promise<EvaluationReport | undefined> {
    return this.#orUndefined(
      this.#call("GET", `/v1/datasets/${seg(id)}/evaluation`, undefined, EvaluationReportSchema),
    );
  }

  /** The datasets (and their RetrainJobs) holding any case of this patient (the pseudonym travels in the body). */
  async datasetsContaining(pseudonym: string): Promise<{ id: string; namespace: string; job: string }[]> {
    return (await this.#call("POST", "/v1/datasets/containing", { pseudonym }, TaintedSchema)).datasets;
  }

  /** Erases every kept (de-identified) case of a patient; returns how many. */
  async eraseKeptCases(pseudonym: string): Promise<number> {
    return (await this.#call("POST", "/v1/cases/erase", { pseudonym }, ErasedCasesSchema)).erased;
  }

  async #orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof MonitorError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** True when /readyz answers 200 (storage reachable). */
  async ready(): Promise<boolean> {
    try {
      await this.#call("GET", "/readyz", undefined, undefined);
      return true;
    } catch (err) {
      if (err instanceof MonitorError || err instanceof MonitorUnavailableError) return false;
      throw err;
    }
  }

  async #call<S extends z.ZodType | undefined>(
    method: string,
    path: string,
    body: unknown,
    schema: S,
  ): Promise<S extends z.ZodType ? z.output<S> : undefined> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      // The URL path may hold a pseudonym: say which operation failed, not which URL.
      const why =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.name) : "error";
      throw new MonitorUnavailableError(
        `monitor unreachable (${method} ${path.split("/").slice(0, 3).join("/")}): ${why}`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = ErrorBodySchema.safeParse(json);
      // 502/503/504: a proxy without a backend, or storage down — the monitor is unavailable, not wrong
      if (
        res.status === 502 ||
        res.status === 503 ||
        res.status === 504 ||
        (res.status >= 500 && !e.success)
      ) {
        throw new MonitorUnavailableError(
          `monitor answered ${res.status}${e.success ? ` ${e.data.code}` : ""}`,
        );
      }
      throw new MonitorError(
        res.status,
        e.success ? e.data.code : `HTTP_${res.status}`,
        e.success ? e.data.error : `monitor answered ${res.status}`,
      );
    }
    if (schema === undefined) return undefined as never;
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new MonitorError(res.status, "BAD_RESPONSE", "monitor answered an unexpected shape");
    return parsed.data as never;
  }
}
