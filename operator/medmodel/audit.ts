/**
 * Audit entries of the MedModel's governance events (issue 14; rules in docs/audit.md, "MedModel entries"): a
 * rollout step, a promotion, a failover and its fail-back, a suspension and its resumption. Pure: which entries a
 * decision calls for, under which deterministic key, and how the status carries the ones the monitor has not
 * accepted yet. The controller writes them (audit-writer.ts) after applying the children and before writing the
 * status; nothing here blocks or delays a serving decision.
 *
 * Keys make appends idempotent (the monitor returns the stored entry for a known key): the same event recomputed
 * after a lost answer, a failed status write or an operator restart maps to the same key. Each key names the
 * model's uid (a re-created model starts afresh) and what makes the event unique:
 *   Failover    MedModel/<uid>/failover/<failover.count after it>
 *   FailBack    MedModel/<uid>/failback/<failover.count it ends>
 *   Promotion   MedModel/<uid>/promotion/<version>/g<generation>/f<failover.count>
 *   RolloutStep MedModel/<uid>/rollout/<version>/g<generation>/f<failover.count>/step<n>
 *   Suspend     MedModel/<uid>/suspend/<lastTransitionTime of the Suspended=False it ends, or "initial">
 *   Resume      MedModel/<uid>/resume/<lastTransitionTime of the Suspended=True it ends>
 * The previous status does not change until the status write that reports the event, and from that write on the
 * entry (key included) is in status.audit.pending until the monitor has it — so the key never drifts.
 */
import { type Condition, findCondition, setCondition } from "../runtime/index.ts";
import { sanitizeNote } from "./phases/conditions.ts";
import { EVENT_REASON, REASON } from "./reasons.ts";
import { ANNOTATIONS, CONDITION, type Decision, type DecisionSpec, type DecisionStatus } from "./types.ts";

export type MedModelAuditAction =
  | "RolloutStep"
  | "Promotion"
  | "Failover"
  | "FailBack"
  | "Suspend"
  | "Resume";

/** One entry as the status keeps it until the monitor accepted it (crds/medmodel.ts status.audit.pending). */
export interface PendingAuditEntry {
  key: string;
  action: MedModelAuditAction;
  actor: string;
  reason: string;
  /** When the operator decided it (RFC 3339); the monitor stamps its own time when it is written. */
  at: string;
  details?: Record<string, string>;
}

export interface AuditStatus {
  pending?: PendingAuditEntry[];
  dropped?: number;
}

/** The controller's name in the log when no person is named (rollouts and failovers are its decisions). */
export const OPERATOR_ACTOR = "medmlops-operator";
/** Who when a suspension or resumption names nobody (the annotation is missing). */
export const UNKNOWN_ACTOR = "unknown";
/** Pending entries the status keeps at most (the CRD's limit); beyond it the oldest are dropped and counted. */
export const MAX_PENDING = 50;

export const AUDIT_ANNOTATIONS = {
  /** Who resumed a suspended model (and, with resume-episode, a policy's suspension: validation.ts). */
  resumedBy: "medmlops.io/resumed-by",
  resumeReason: "medmlops.io/resume-reason",
} as const;

export interface AuditContext {
  uid: string;
  generation: number;
  annotations: Record<string, string>;
  spec: DecisionSpec;
  previous: DecisionStatus;
  /** The decision's time, RFC 3339. */
  at: string;
}

const who = (v: string | undefined) => sanitizeNote(v, 80) ?? UNKNOWN_ACTOR;

/** The entries a decision calls for, one per governance Event it records, in Event order. Pure. */
export function auditEntriesFor(decision: Decision, ctx: AuditContext): PendingAuditEntry[] {
  const base = `MedModel/${ctx.uid}`;
  const status = decision.status;
  const count = status.failover?.count ?? 0;
  const prevSuspended = findCondition(ctx.previous.conditions, CONDITION.Suspended);
  const entries: PendingAuditEntry[] = [];
  const add = (
    action: MedModelAuditAction,
    key: string,
    actor: string,
    reason: string,
    details: Record<string, string>,
  ) => entries.push({ key: `${base}/${key}`, action, actor, reason, at: ctx.at, details });

  for (const e of decision.events) {
    switch (e.reason) {
      case EVENT_REASON.Failover: {
        const t = status.failover?.lastTransition;
        add("Failover", `failover/${count}`, OPERATOR_ACTOR, e.note, {
          ...(t ? { from: t.from, to: t.to, cause: t.reason } : {}),
          failoverCount: String(count),
        });
        break;
      }
      case EVENT_REASON.FailBack:
      case EVENT_REASON.FailoverCleared: {
        const t = ctx.previous.failover?.lastTransition;
        const retried = ctx.annotations[ANNOTATIONS.retryVersion];
        add("FailBack", `failback/${count}`, OPERATOR_ACTOR, e.note, {
          ...(t ? { held: t.from, fallback: t.to } : {}),
          trigger:
            e.reason === EVENT_REASON.FailoverCleared
              ? "activeVersion changed"
              : retried !== undefined && retried === t?.from
                ? `annotation ${ANNOTATIONS.retryVersion}`
                : "spec change",
          generation: String(ctx.generation),
        });
        break;
      }
      case EVENT_REASON.Promoted: {
        const version = decision.servingVersion;
        add("Promotion", `promotion/${version}/g${ctx.generation}/f${count}`, OPERATOR_ACTOR, e.note, {
          version,
          ...(ctx.previous.activeVersion ? { previous: ctx.previous.activeVersion } : {}),
          strategy: ctx.spec.rollout?.strategy ?? "Canary",
          generation: String(ctx.generation),
        });
        break;
      }
      case EVENT_REASON.CanaryStarted:
      case EVENT_REASON.CanaryStep: {
        const c = status.canary;
        if (!c) break;
        add(
          "RolloutStep",
          `rollout/${c.version}/g${ctx.generation}/f${count}/step${c.step + 1}`,
          OPERATOR_ACTOR,
          e.note,
          {
            version: c.version,
            weight: String(c.weight),
            step: String(c.step + 1),
            steps: String(ctx.spec.rollout?.steps?.length ?? 0),
            generation: String(ctx.generation),
          },
        );
        break;
      }
      case EVENT_REASON.Suspended: {
        const since = prevSuspended?.lastTransitionTime ?? "initial";
        const byPolicy = ctx.spec.suspend !== true;
        const policy = /ValidationPolicy (\S+) \(episode (\S+)\)/.exec(e.note);
        add(
          "Suspend",
          `suspend/${since}`,
          byPolicy && policy
            ? `ValidationPolicy/${policy[1]}`
            : who(ctx.annotations[ANNOTATIONS.suspendedBy]),
          byPolicy ? e.note : (sanitizeNote(ctx.spec.suspendReason, 1000) ?? ""),
          byPolicy && policy
            ? { by: "ValidationPolicy", policy: policy[1]!, episode: policy[2]! }
            : { by: "spec.suspend" },
        );
        break;
      }
      case EVENT_REASON.Resumed: {
        add(
          "Resume",
          `resume/${prevSuspended?.lastTransitionTime ?? "initial"}`,
          who(ctx.annotations[AUDIT_ANNOTATIONS.resumedBy]),
          sanitizeNote(ctx.annotations[AUDIT_ANNOTATIONS.resumeReason], 1000) ?? "",
          {
            ...(prevSuspended?.reason ? { suspendedAs: prevSuspended.reason } : {}),
            servingVersion: decision.servingVersion,
          },
        );
        break;
      }
      default:
        break;
    }
  }
  return entries;
}

/**
 * The entries still to write: those the previous status kept (oldest first) and the decision's new ones, each key
 * once. Beyond MAX_PENDING the oldest are dropped and counted: the status must stay bounded.
 */
export function entriesToWrite(
  previous: AuditStatus | undefined,
  fresh: readonly PendingAuditEntry[],
): { entries: PendingAuditEntry[]; dropped: number } {
  const seen = new Set<string>();
  const all: PendingAuditEntry[] = [];
  for (const e of [...(previous?.pending ?? []), ...fresh]) {
    if (seen.has(e.key)) continue;
    seen.add(e.key);
    all.push(e);
  }
  const over = Math.max(0, all.length - MAX_PENDING);
  return { entries: all.slice(over), dropped: (previous?.dropped ?? 0) + over };
}

/**
 * The status that reports the decision, with what is still pending: status.audit and the Audited condition
 * (True Recorded; False AuditPending naming the actions and why). The decision's own fields are untouched —
 * the action is reported done either way; the condition says its audit entry is not yet written.
 */
export function withAuditStatus(
  status: DecisionStatus,
  pending: readonly PendingAuditEntry[],
  dropped: number,
  why: string | undefined,
  now: Date,
  generation: number,
): DecisionStatus {
  const list = pending.map((e) => e.action).join(", ");
  const condition: Omit<Condition, "lastTransitionTime"> =
    pending.length === 0 && dropped === 0
      ? {
          type: CONDITION.Audited,
          status: "True",
          reason: REASON.Recorded,
          message: "every rollout, failover and suspension of this model is in the audit log",
          observedGeneration: generation,
        }
      : {
          type: CONDITION.Audited,
          status: "False",
          reason: REASON.AuditPending,
          message:
            `${pending.length} audit entr${pending.length === 1 ? "y" : "ies"} not yet in the audit log` +
            `${list ? ` (${list})` : ""}${why ? `: ${why}` : ""}; retried on every reconcile` +
            (dropped > 0 ? `; ${dropped} dropped because more than ${MAX_PENDING} were pending` : ""),
          observedGeneration: generation,
        };
  const { audit: _previous, ...rest } = status as DecisionStatus & { audit?: AuditStatus };
  return {
    ...rest,
    conditions: setCondition(status.conditions, condition, now),
    ...(pending.length > 0 || dropped > 0
      ? {
          audit: {
            ...(pending.length > 0 ? { pending: [...pending] } : {}),
            ...(dropped > 0 ? { dropped } : {}),
          },
        }
      : {}),
  };
}
