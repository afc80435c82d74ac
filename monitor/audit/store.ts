/**
 * The audit log on the monitor's database (PGlite or PostgreSQL, one schema: migrations/050_audit.sql).
 * Appends are serialised by a table lock inside a transaction, so two concurrent writers never chain onto the
 * same previous entry.
 */
import type { Queryable } from "../db/index.ts";
import { type AuditEntry, AuditInputSchema, nextEntry } from "./entry.ts";

interface Row {
  seq: string | number;
  at: string;
  action: string;
  subject_namespace: string;
  subject_kind: string;
  subject_name: string;
  actor: string;
  reason: string;
  details: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
  event_key: string | null;
}

function toEntry(r: Row): AuditEntry {
  return {
    seq: Number(r.seq),
    at: r.at,
    action: r.action,
    subject: { namespace: r.subject_namespace, kind: r.subject_kind, name: r.subject_name },
    actor: r.actor,
    reason: r.reason,
    details: typeof r.details === "string" ? JSON.parse(r.details) : r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
    ...(r.event_key !== null && r.event_key !== undefined ? { key: r.event_key } : {}),
  };
}

const COLUMNS =
  "seq, at, action, subject_namespace, subject_kind, subject_name, actor, reason, details, prev_hash, hash, event_key";

/** The stored entry a keyed append found: same key, but a different action or subject (a writer's bug). */
export class AuditKeyConflictError extends Error {
  override name = "AuditKeyConflictError";
}

/**
 * Appends one entry (input already validated or validated here) and returns it with its seq and hash. With a
 * `key` already stored, returns that entry instead (`duplicate: true`) and appends nothing — unless its action or
 * subject differ, which throws AuditKeyConflictError.
 */
export async function appendAuditEntry(
  db: Queryable & { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  input: unknown,
  now: Date,
): Promise<AuditEntry & { duplicate?: true }> {
  const parsed = AuditInputSchema.parse(input);
  return db.transaction(async (tx) => {
    await tx.query("LOCK TABLE audit_log IN EXCLUSIVE MODE");
    if (parsed.key !== undefined) {
      const found = await tx.query<Row>(`SELECT ${COLUMNS} FROM audit_log WHERE event_key = $1`, [
        parsed.key,
      ]);
      const stored = found.rows[0] && toEntry(found.rows[0]);
      if (stored) {
        const same =
          stored.action === parsed.action &&
          stored.subject.namespace === parsed.subject.namespace &&
          stored.subject.kind === parsed.subject.kind &&
          stored.subject.name === parsed.subject.name;
        if (!same)
          throw new AuditKeyConflictError(
            `audit key already names entry ${stored.seq} (${stored.action} on ${stored.subject.kind})`,
          );
        return { ...stored, duplicate: true as const };
      }
    }
    const last = await tx.query<{ seq: string | number; hash: string }>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    );
    const prev = last.rows[0];
    const entry = nextEntry(prev && { seq: Number(prev.seq), hash: prev.hash }, parsed, now);
    await tx.query(
      `INSERT INTO audit_log (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        entry.seq,
        entry.at,
        entry.action,
        entry.subject.namespace,
        entry.subject.kind,
        entry.subject.name,
        entry.actor,
        entry.reason,
        JSON.stringify(entry.details),
        entry.prevHash,
        entry.hash,
        entry.key ?? null,
      ],
    );
    return entry;
  });
}

export interface AuditQuery {
  /** RFC 3339; entries at or after. */
  since?: string;
  /** RFC 3339; entries strictly before. */
  until?: string;
  /** Entries with seq greater than this (paging). */
  afterSeq?: number;
  limit?: number;
}

/** Entries in seq order. Time bounds compare normalised ISO strings (stored the same way). */
export async function listAuditEntries(db: Queryable, q: AuditQuery = {}): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.since) {
    params.push(new Date(q.since).toISOString());
    where.push(`at >= $${params.length}`);
  }
  if (q.until) {
    params.push(new Date(q.until).toISOString());
    where.push(`at < $${params.length}`);
  }
  if (q.afterSeq !== undefined) {
    params.push(q.afterSeq);
    where.push(`seq > $${params.length}`);
  }
  params.push(q.limit ?? 1000);
  const sql = `SELECT ${COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT $${params.length}`;
  const res = await db.query<Row>(sql, params);
  return res.rows.map(toEntry);
}
