/**
 * Writes the MedModel's audit entries (audit.ts decides them) through the monitor's API, between applying the
 * children and writing the status: the serving decision is already applied and never waits for this; the status
 * that reports it says whether its entry is written (Audited) and keeps the unwritten ones (status.audit.pending)
 * for the next reconcile, which also survives an operator restart. Rules: docs/audit.md, "MedModel entries".
 */
import type { Logger } from "pino";
import { type AuditInput, MonitorError } from "../../monitor/client.ts";
import { toRfc3339 } from "../runtime/index.ts";
import {
  type AuditStatus,
  auditEntriesFor,
  entriesToWrite,
  type PendingAuditEntry,
  withAuditStatus,
} from "./audit.ts";
import type { Decision, DecisionSpec, DecisionStatus } from "./types.ts";

/** What the writer needs of the monitor client (monitor/client.ts MonitorClient; a fake in unit tests). */
export interface AuditSink {
  appendAudit(entry: AuditInput): Promise<{ seq: number; hash: string; duplicate?: boolean | undefined }>;
}

/** How soon a reconcile with pending entries comes back to retry them. */
export const AUDIT_RETRY_MS = 10_000;

export interface AuditSettleInput {
  model: {
    namespace: string;
    name: string;
    uid: string;
    generation: number;
    annotations: Record<string, string>;
  };
  spec: DecisionSpec;
  previous: DecisionStatus & { audit?: AuditStatus };
  decision: Decision;
  now: Date;
  log: Pick<Logger, "warn" | "error">;
}

/** A 4xx other than 408/429: the monitor refuses this entry for good (retrying cannot help). */
function refusedForGood(err: unknown): err is MonitorError {
  return (
    err instanceof MonitorError && err.status >= 400 && err.status < 500 && ![408, 429].includes(err.status)
  );
}

function describe(err: unknown): string {
  if (err instanceof MonitorError) return `the monitor answered ${err.status} ${err.code}`;
  return "the monitor is unreachable";
}

export class MedModelAuditWriter {
  constructor(
    private readonly sink: AuditSink,
    private readonly retryMs = AUDIT_RETRY_MS,
  ) {}

  /**
   * Writes the previous status's pending entries and the decision's new ones, in order, stopping at the first
   * the monitor cannot take now (order is kept: a later event is never logged before an earlier one). Resolves
   * the status to write and, while entries are pending, when to retry.
   */
  async settle(input: AuditSettleInput): Promise<{ status: DecisionStatus; retryAfterMs?: number }> {
    const { model, decision, previous, now, log } = input;
    const fresh = auditEntriesFor(decision, {
      uid: model.uid,
      generation: model.generation,
      annotations: model.annotations,
      spec: input.spec,
      previous,
      at: toRfc3339(now),
    });
    const todo = entriesToWrite(previous.audit, fresh);
    let dropped = todo.dropped;
    let why: string | undefined;
    let i = 0;
    for (; i < todo.entries.length; i++) {
      const e = todo.entries[i]!;
      try {
        await this.sink.appendAudit(toInput(model, e));
      } catch (err) {
        if (refusedForGood(err)) {
          // A malformed entry is our bug; keeping it would block every later entry behind it forever.
          log.error(
            { action: e.action, key: e.key, code: err.code },
            "audit entry refused by the monitor; dropped",
          );
          dropped += 1;
          continue;
        }
        why = describe(err);
        log.warn({ action: e.action, key: e.key, why }, "audit entry not written yet; kept in status");
        break;
      }
    }
    const pending = todo.entries.slice(i);
    const status = withAuditStatus(decision.status, pending, dropped, why, now, model.generation);
    return pending.length > 0 ? { status, retryAfterMs: this.retryMs } : { status };
  }
}

function toInput(model: AuditSettleInput["model"], e: PendingAuditEntry): AuditInput {
  return {
    action: e.action,
    subject: { namespace: model.namespace, kind: "MedModel", name: model.name },
    actor: e.actor,
    reason: e.reason,
    details: { ...e.details, decidedAt: e.at },
    key: e.key,
  };
}
