/**
 * One entry of the governance audit log (EU AI Act Art. 12 record-keeping, 21 CFR Part 11 audit trail).
 *
 * The log is a hash chain: every entry's `hash` is SHA-256 over the RFC 8785 (JCS) canonical JSON of the entry's
 * content *including the previous entry's hash*. Editing, deleting or re-ordering any stored entry therefore breaks
 * the link at that entry, and `medmlops audit verify` names it. The canonical form is fixed forever: changing it
 * would break every stored chain, so any new field must be added to `AuditContent` with care (old entries lack it).
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { z } from "zod";

/** The previous-hash of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

export const AUDIT_ACTIONS = [
  "RolloutStep",
  "Promotion",
  "Failover",
  "FailBack",
  "Suspend",
  "Resume",
  "VerdictChanged",
  "ActionTaken",
  "DatasetFrozen",
  "TrainingStarted",
  "TrainingFinished",
  "EvaluationResult",
  "Approval",
  "CandidateAppended",
  "RetrainRejected",
  "RetrainFailed",
  "ConsentChanged",
  "ConsentLifted",
  "Erasure",
] as const;

const PSEUDONYM_ANYWHERE = /pn:[a-f0-9]{64}/;
const Name = z.string().min(1).max(253);

/** What a caller sends (POST /v1/audit, `appendAudit`). Details hold counts and names, never patient data. */
export const AuditInputSchema = z
  .object({
    action: z.enum(AUDIT_ACTIONS),
    subject: z.object({ namespace: z.string().max(63), kind: Name, name: Name }).strict(),
    actor: Name,
    reason: z.string().max(4096).default(""),
    details: z.record(z.string(), z.unknown()).default({}),
    /**
     * Optional idempotency key, deterministic per governance event: a second append with the same key returns
     * the stored entry instead of chaining a duplicate (retries, operator restarts). Hashed when present.
     */
    key: z
      .string()
      .min(1)
      .max(512)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
      .optional(),
  })
  .strict()
  .refine((v) => !PSEUDONYM_ANYWHERE.test(JSON.stringify(v)), {
    message: "audit entries must not carry patient pseudonyms (counts only)",
    params: { code: "PHI_IN_AUDIT" },
  });
export type AuditInput = z.input<typeof AuditInputSchema>;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The hashed content of an entry: everything except its own hash. */
export interface AuditContent {
  seq: number;
  at: string;
  action: string;
  subject: { namespace: string; kind: string; name: string };
  actor: string;
  reason: string;
  details: Record<string, unknown>;
  prevHash: string;
  /** The writer's idempotency key; absent on entries appended without one (and on every entry before 052). */
  key?: string;
}

export interface AuditEntry extends AuditContent {
  hash: string;
}

/** The stored/exported form, validated when an export is read back for verification. */
export const AuditEntrySchema = z.object({
  seq: z.number().int().min(1),
  at: z.string(),
  action: z.string(),
  subject: z.object({ namespace: z.string(), kind: z.string(), name: z.string() }),
  actor: z.string(),
  reason: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string().regex(/^[a-f0-9]{64}$/),
  hash: z.string().regex(/^[a-f0-9]{64}$/),
  key: z.string().optional(),
});

/**
 * RFC 8785 canonical JSON of the hashed content (fields picked explicitly so extra keys never leak in). `key` is
 * hashed only when present, so every entry written before keys existed keeps its hash.
 */
export function canonicalContent(c: AuditContent): string {
  const text = canonicalize({
    ...(c.key !== undefined ? { key: c.key } : {}),
    seq: c.seq,
    at: c.at,
    action: c.action,
    subject: { namespace: c.subject.namespace, kind: c.subject.kind, name: c.subject.name },
    actor: c.actor,
    reason: c.reason,
    details: c.details,
    prevHash: c.prevHash,
  });
  if (text === undefined) throw new Error("audit entry cannot be serialised");
  return text;
}

export function hashContent(c: AuditContent): string {
  return createHash("sha256").update(canonicalContent(c)).digest("hex");
}

/** The next entry after `previous` (undefined for the first entry), stamped at `now`. Pure. */
export function nextEntry(
  previous: Pick<AuditEntry, "seq" | "hash"> | undefined,
  input: z.output<typeof AuditInputSchema>,
  now: Date,
): AuditEntry {
  const content: AuditContent = {
    seq: (previous?.seq ?? 0) + 1,
    at: now.toISOString(),
    action: input.action,
    subject: input.subject,
    actor: input.actor,
    reason: input.reason,
    details: input.details,
    prevHash: previous?.hash ?? GENESIS_HASH,
    ...(input.key !== undefined ? { key: input.key } : {}),
  };
  return { ...content, hash: hashContent(content) };
}
