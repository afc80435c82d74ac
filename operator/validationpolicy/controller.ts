/**
 * The ValidationPolicy controller (enabled by `medmlops operator --monitor-url`): gather → decide → apply.
 *
 * - gather: the policy, its MedModel (versions, serving versions, resume annotations), the newest status we know
 *   of; when an evaluation is due (schedule.ts) it registers the policy with the monitor, hands it the reference
 *   profiles of new versions, and asks it to evaluate every version.
 * - decide: decide.ts, pure.
 * - apply: audit entries (monitor, C4; an action whose entry is refused is withheld), then the status (StatusWriter: the only writer of ValidationPolicy
 *   status), then the RetrainJobs open episodes asked for (deterministic names: a second apply is the same
 *   object), then the events.
 *
 * Failover and Suspend are not done here: the MedModel controller reads them from the episodes in this status
 * (verdicts flow one way, docs/validation.md).
 */
import { ValidationPolicySpecSchema } from "../../crds/validationpolicy.ts";
import { MedModelKind, ValidationPolicyKind } from "../kinds.ts";
import {
  type ControllerDeps,
  type ControllerSpec,
  type KubeObject,
  type ObjectKey,
  type ReconcileContext,
  StatusWriter,
  setCondition,
  setKstatusConditions,
} from "../runtime/index.ts";
import { refusedForGood, withholdUnaudited } from "./audit-gate.ts";
import { decide, shouldEvaluate } from "./decide.ts";
import { type Artifact, FIRST_RECORDS_DEFAULT, fetchReferenceProfile } from "./reference.ts";
import { buildRetrainJob } from "./retrain.ts";
import {
  type AuditAction,
  CONDITION,
  type EvaluateResult,
  type ModelView,
  type MonitorOutcome,
  type PolicyEvent,
  type PolicyStatus,
} from "./types.ts";

export const CONTROLLER_NAME = "validationpolicy";
export const AUDIT_ACTOR = "medmlops-operator/validationpolicy";

/** What the controller needs of the monitor (monitor/client.ts's MonitorClient has all of it). */
export interface MonitorPort {
  putPolicy(namespace: string, name: string, body: { model: string; spec: unknown }): Promise<void>;
  deletePolicy?(namespace: string, name: string): Promise<void>;
  putReference(
    namespace: string,
    model: string,
    version: string,
    body: Record<string, unknown>,
  ): Promise<unknown>;
  evaluatePolicy(
    namespace: string,
    name: string,
    body: { now?: string; versions: string[] },
  ): Promise<EvaluateResult>;
  appendAudit?(entry: {
    action: AuditAction;
    subject: { namespace: string; kind: string; name: string };
    actor: string;
    reason: string;
    details: Record<string, unknown>;
    key?: string;
  }): Promise<unknown>;
}

export interface ValidationPolicyControllerOptions {
  monitor: MonitorPort;
  /** N of "freeze a reference from the version's first N served records" (no referenceProfile). */
  firstRecords?: number;
  workers?: number;
  /** Tests only: let reference profiles come from http:// servers on loopback. */
  allowHttpReferences?: boolean;
}

interface PolicyObject extends KubeObject {
  spec?: unknown;
  status?: PolicyStatus;
}
interface ModelObject extends KubeObject {
  spec?: { versions?: { name: string; referenceProfile?: Artifact }[] };
  status?: { activeVersion?: string; canary?: { version: string } };
}

/** Monitor errors (unreachable, 5xx, a refused request) all read as "unavailable": no verdict, no action. */
function outageMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === "string" ? ` ${code}` : ""}: ${err.message}`.slice(0, 512);
  }
  return String(err).slice(0, 512);
}

export function validationPolicyController(
  deps: ControllerDeps,
  opts: ValidationPolicyControllerOptions,
): ControllerSpec {
  const { cache, client, events, log } = deps;
  const statuses = new StatusWriter<PolicyStatus>(client);
  const firstRecords = opts.firstRecords ?? FIRST_RECORDS_DEFAULT;
  /** Reference handed to the monitor per policy uid/version: what it was (digest or first-N) and the note. */
  const references = new Map<string, { id: string; note: string }>();
  /** RetrainJobs applied by this process (a restart re-applies once: same name, same object). */
  const applied = new Set<string>();

  async function handReferences(
    ns: string,
    policyUid: string,
    model: ModelObject,
    ctx: ReconcileContext,
  ): Promise<Record<string, string>> {
    const notes: Record<string, string> = {};
    for (const v of model.spec?.versions ?? []) {
      const memoKey = `${policyUid}/${v.name}`;
      const id = v.referenceProfile ? `sha256:${v.referenceProfile.sha256}` : `first:${firstRecords}`;
      const known = references.get(memoKey);
      if (known?.id === id) {
        notes[v.name] = known.note;
        continue;
      }
      const modelName = model.metadata?.name ?? "";
      try {
        if (v.referenceProfile) {
          const doc = await fetchReferenceProfile(v.referenceProfile, {
            client,
            namespace: ns,
            signal: ctx.signal,
            allowHttp: opts.allowHttpReferences,
          });
          await opts.monitor.putReference(ns, modelName, v.name, doc);
          notes[v.name] = "referenceProfile verified (sha256)";
        } else {
          await opts.monitor.putReference(ns, modelName, v.name, { firstRecords });
          notes[v.name] = `frozen from its first ${firstRecords} served records (no referenceProfile)`;
        }
        references.set(memoKey, { id, note: notes[v.name] ?? "" });
      } catch (err) {
        if ((err as Error).name === "MonitorUnavailableError") throw err;
        // Not fatal for the evaluation: metrics still get verdicts; drift for this version waits.
        notes[v.name] = v.referenceProfile
          ? `referenceProfile not used: ${outageMessage(err)}`
          : `waiting for its first ${firstRecords} served records (${outageMessage(err)})`;
      }
    }
    return notes;
  }

  async function reconcile(key: ObjectKey, ctx: ReconcileContext) {
    const policy = cache.get<PolicyObject>(ValidationPolicyKind, key);
    if (!policy || policy.metadata?.deletionTimestamp) {
      if (!policy) {
        statuses.forget(key);
        for (const k of references.keys())
          if (k.startsWith(`${key.namespace}/${key.name}/`)) references.delete(k);
        await opts.monitor.deletePolicy?.(key.namespace, key.name).catch(() => {});
      }
      return undefined;
    }
    const now = deps.now();
    const previous = statuses.current(policy);
    const generation = policy.metadata?.generation ?? 1;
    const parsed = ValidationPolicySpecSchema.safeParse(policy.spec);
    if (!parsed.success) {
      // The API server validates the same schema; reaching here means a hand-edited CRD. Say so, stop.
      const message = parsed.error.issues[0]?.message ?? "invalid spec";
      // Ready False, and kstatus Stalled (never Reconciling beside it: kstatus would read InProgress).
      const conditions = setKstatusConditions(
        setCondition(
          previous.conditions,
          {
            type: CONDITION.Ready,
            status: "False",
            reason: "InvalidSpec",
            message,
            observedGeneration: generation,
          },
          now,
        ),
        { state: "Stalled", reason: "InvalidSpec", message: `fix the spec: ${message}`.slice(0, 1024) },
        generation,
        now,
      );
      // observedGeneration too: kstatus reads a lagging one as InProgress whatever the conditions say.
      await statuses.write(policy, { ...previous, observedGeneration: generation, conditions });
      return undefined;
    }
    const spec = parsed.data;
    const modelObj = cache.get<ModelObject>(MedModelKind, {
      namespace: key.namespace,
      name: spec.modelRef.name,
    });
    const model: ModelView | undefined = modelObj
      ? {
          name: modelObj.metadata?.name ?? "",
          versions: (modelObj.spec?.versions ?? []).map((v) => v.name),
          serving: [modelObj.status?.activeVersion, modelObj.status?.canary?.version].filter(
            (v): v is string => typeof v === "string",
          ),
          annotations: modelObj.metadata?.annotations ?? {},
        }
      : undefined;
    const policyRef = {
      namespace: key.namespace,
      name: key.name,
      generation,
      spec,
      annotations: policy.metadata?.annotations ?? {},
    };
    const base = { policy: policyRef, previous, model, now };

    let monitor: MonitorOutcome = { kind: "skipped" };
    let refNotes: Record<string, string> | undefined;
    const due = shouldEvaluate(base);
    if (model && modelObj && due.due !== undefined) {
      try {
        await opts.monitor.putPolicy(key.namespace, key.name, { model: model.name, spec });
        refNotes = await handReferences(
          key.namespace,
          `${key.namespace}/${key.name}/${policy.metadata?.uid ?? ""}`,
          modelObj,
          ctx,
        );
        const result = await opts.monitor.evaluatePolicy(key.namespace, key.name, {
          now: now.toISOString(),
          versions: model.versions,
        });
        monitor = { kind: "evaluated", result };
        ctx.log.debug({ due: due.due }, "evaluated");
      } catch (err) {
        monitor = { kind: "unavailable", message: outageMessage(err) };
        ctx.log.warn({ err: outageMessage(err) }, "monitor unavailable; no verdict, no action");
      }
    }
    if (refNotes === undefined) {
      // Keep the reference notes of earlier evaluations in the Ready message.
      refNotes = {};
      for (const v of model?.versions ?? []) {
        const n = references.get(`${key.namespace}/${key.name}/${policy.metadata?.uid ?? ""}/${v}`);
        if (n) refNotes[v] = n.note;
      }
    }

    const planned = decide({ ...base, monitor, references: refNotes });

    // Audit first (C4): an action is reported done (status, event, RetrainJob) only after its entry is
    // accepted; one that is not is withheld and retried next reconcile (audit-gate.ts).
    const unaudited = new Set<string>();
    const refusedEvents: PolicyEvent[] = [];
    for (const a of planned.audit) {
      if (!opts.monitor.appendAudit) break;
      try {
        await opts.monitor.appendAudit({
          action: a.action,
          subject: { namespace: key.namespace, kind: "ValidationPolicy", name: key.name },
          actor: AUDIT_ACTOR,
          reason: a.reason.slice(0, 4096),
          details: { model: spec.modelRef.name, ...a.details },
          key: a.key,
        });
      } catch (err) {
        const refused = refusedForGood(err);
        if (refused) {
          // Retrying cannot help (our bug): never hold a safety action back for it; say so where people look.
          ctx.log.error({ err: outageMessage(err), action: a.action, key: a.key }, "audit entry refused");
          refusedEvents.push({
            type: "Warning",
            reason: "AuditEntryRefused",
            action: a.action,
            note: `the audit log refused the ${a.action} entry ${a.key} (${refused.code}); reported without it`,
          });
          continue;
        }
        if (a.gate) unaudited.add(a.gate.key);
        ctx.log.warn(
          { err: outageMessage(err), action: a.action, withheld: a.gate?.key },
          a.gate ? "audit entry not written; action withheld until it is" : "audit entry not written",
        );
      }
    }
    const decision = withholdUnaudited(planned, previous, unaudited);
    await statuses.write(policy, decision.status);
    for (const r of decision.retrain) {
      const id = `${key.namespace}/${r.name}`;
      // Not read from the cache: the RetrainJob controller owns that informer's view. Server-side apply of the
      // same deterministic object is idempotent, so a restart re-applies once and never makes a second job.
      if (applied.has(id)) continue;
      const job = buildRetrainJob({
        namespace: key.namespace,
        policy: { name: key.name, uid: policy.metadata?.uid },
        spec,
        episode: { key: r.episode, version: r.version, type: "Breach" },
      });
      if (!job) continue;
      await client.apply(job);
      applied.add(id);
      log.info({ namespace: key.namespace, retrainJob: r.name, episode: r.episode }, "RetrainJob applied");
    }
    for (const e of [...decision.events, ...refusedEvents])
      events.record(policy, e.type, e.reason, e.action, e.note);
    return { requeueAfterMs: decision.requeueAfterMs };
  }

  return {
    name: CONTROLLER_NAME,
    for: ValidationPolicyKind,
    watches: [
      {
        gvk: MedModelKind,
        // A model's versions, serving version or resume annotations changed: its policies reconsider.
        map: (m) =>
          cache
            .list<PolicyObject>(ValidationPolicyKind, { namespace: m.metadata?.namespace ?? "" })
            .filter(
              (p) =>
                (p.spec as { modelRef?: { name?: string } } | undefined)?.modelRef?.name === m.metadata?.name,
            )
            .map((p) => ({ namespace: p.metadata?.namespace ?? "", name: p.metadata?.name ?? "" })),
      },
    ],
    reconciler: { reconcile },
    workers: opts.workers ?? 2,
  };
}
