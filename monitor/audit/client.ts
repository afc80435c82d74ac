/**
 * HTTP calls for the audit log (global fetch + zod; no server imports, so the operator and CLI load it cheaply).
 * Re-exported from monitor/client.ts as `appendAudit` / `listAudit` (contract C4).
 */
import { z } from "zod";
import { type AuditEntry, AuditEntrySchema, type AuditInput } from "./entry.ts";

export class AuditHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AuditHttpError";
  }
}

const Appended = z.object({ seq: z.number().int(), hash: z.string() });
const Page = z.object({ entries: z.array(AuditEntrySchema), nextAfterSeq: z.number().int().nullable() });

async function call(url: string, init: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : {};
  if (!res.ok) {
    const err = z.object({ error: z.string(), code: z.string() }).safeParse(body);
    throw new AuditHttpError(
      res.status,
      err.success ? err.data.code : "HTTP_ERROR",
      err.success ? err.data.error : `monitor answered ${res.status}`,
    );
  }
  return body;
}

/** POST /v1/audit → { seq, hash }. The entry is durable when this resolves. */
export async function appendAuditAt(
  baseUrl: string,
  entry: AuditInput,
): Promise<{ seq: number; hash: string }> {
  return Appended.parse(
    await call(new URL("/v1/audit", baseUrl).href, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(entry),
    }),
  );
}

export interface AuditRange {
  since?: string;
  until?: string;
}

/** Every entry in [since, until), in seq order, paging through GET /v1/audit. */
export async function* listAuditAt(baseUrl: string, range: AuditRange = {}): AsyncGenerator<AuditEntry> {
  let afterSeq: number | null = 0;
  while (afterSeq !== null) {
    const u = new URL("/v1/audit", baseUrl);
    if (range.since) u.searchParams.set("since", range.since);
    if (range.until) u.searchParams.set("until", range.until);
    u.searchParams.set("afterSeq", String(afterSeq));
    const page = Page.parse(await call(u.href, { method: "GET" }));
    yield* page.entries as AuditEntry[];
    afterSeq = page.nextAfterSeq;
  }
}
