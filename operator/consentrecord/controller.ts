/**
 * The ConsentRecord controller (enabled by `medmlops operator --monitor-url`): pushes a patient's decision to the
 * monitor, erases what a deny-everything record asks to erase, names the RetrainJobs whose frozen datasets already
 * hold the patient (they cannot un-learn), and reports it all in status.enforcement with an `Enforced` condition.
 *
 * - Active or Inactive: PUT /v1/consent/{pseudonym} with the spec (Inactive: the monitor stops enforcing it; the
 *   record stays for audit). DELETE of the object lifts it (finalizer medmlops.io/consent).
 * - Deny of every purpose (and no Permit provision): erase the patient's stored records and kept cases.
 * - The monitor down: Enforced=False (MonitorUnavailable) and a retry with backoff; never reported enforced
 *   before the monitor confirmed it.
 * - Audit (C4): ConsentChanged once per generation, Erasure with counts. Never the pseudonym in audit, events,
 *   status or logs.
 */
import { ConsentRecordSchema, type ConsentRecord } from "../../crds/index.ts";
import type { AuditInput } from "../../monitor/audit/entry.ts";
import { deniesEverything } from "../../monitor/consent-decision.ts";
import { ConsentRecordKind } from "../kinds.ts";
import {
  canonicalJson,
  type ControllerDeps,
  type ControllerSpec,
  type KubeObject,
  type ObjectKey,
  type ReconcileContext,
  StatusWriter,
  setCondition,
} from "../runtime/index.ts";

export const CONTROLLER_NAME = "consentrecord";
export const AUDIT_ACTOR = "medmlops-operator/consentrecord";
export const FINALIZER = "medmlops.io/consent";
export const RETRY_MS = 30_000;

export interface ConsentMonitorPort {
  putConsent(pseudonym: string, spec: unknown): Promise<{ excluded: number; erased: number }>;
  deleteConsent(pseudonym: string): Promise<void>;
  eraseConsent(pseudonym: string): Promise<{ records: number; annotations: number }>;
  eraseKeptCases(pseudonym: string): Promise<number>;
  datasetsContaining(pseudonym: string): Promise<{ id: string; namespace: string; job: string }[]>;
  appendAudit(entry: AuditInput): Promise<unknown>;
}

type ConsentStatus = NonNullable<ConsentRecord["status"]>;

export function consentRecordController(
  deps: ControllerDeps,
  opts: { monitor: ConsentMonitorPort; workers?: number },
): ControllerSpec {
  const { cache, client, events } = deps;
  const statuses = new StatusWriter<ConsentStatus>(client);
  const m = opts.monitor;

  async function lift(raw: KubeObject, key: ObjectKey): Promise<void> {
    const pseudonym = (raw as { spec?: { subject?: { pseudonym?: string } } }).spec?.subject?.pseudonym;
    if (pseudonym) {
      await m.deleteConsent(pseudonym);
      await m.appendAudit({
        action: "ConsentLifted",
        subject: { namespace: key.namespace, kind: "ConsentRecord", name: key.name },
        actor: AUDIT_ACTOR,
        reason: "ConsentRecord deleted: the decision no longer applies",
        details: {},
      });
    }
    const finalizers = (raw.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
    await client.mergePatch(ConsentRecordKind, key, {
      metadata: { finalizers, resourceVersion: raw.metadata?.resourceVersion },
    });
  }

  async function reconcile(key: ObjectKey, ctx: ReconcileContext) {
    const raw = cache.get<KubeObject>(ConsentRecordKind, key);
    if (!raw) {
      statuses.forget(key);
      return undefined;
    }
    if (raw.metadata?.deletionTimestamp) {
      if (raw.metadata.finalizers?.includes(FINALIZER)) await lift(raw, key);
      return undefined;
    }
    if (!raw.metadata?.finalizers?.includes(FINALIZER)) {
      await client.mergePatch(ConsentRecordKind, key, {
        metadata: {
          finalizers: [...(raw.metadata?.finalizers ?? []), FINALIZER],
          resourceVersion: raw.metadata?.resourceVersion,
        },
      });
    }
    const now = deps.now();
    const previous = statuses.current(raw);
    const parsed = ConsentRecordSchema.safeParse(raw);
    const generation = raw.metadata?.generation ?? 1;
    if (!parsed.success) {
      const conditions = setCondition(
        previous.conditions,
        {
          type: "Enforced",
          status: "False",
          reason: "InvalidSpec",
          message: "the spec does not validate",
          observedGeneration: generation,
        },
        now,
      );
      await statuses.write(raw, { ...previous, conditions });
      return undefined;
    }
    const rec = parsed.data;
    const pseudonym = rec.spec.subject.pseudonym;
    const subject = { namespace: key.namespace, kind: "ConsentRecord", name: key.name };
    try {
      const put = await m.putConsent(pseudonym, rec.spec);
      let erasedNow = 0;
      const eraseAll = deniesEverything(rec.spec);
      if (eraseAll) {
        const e = await m.eraseConsent(pseudonym);
        const kept = await m.eraseKeptCases(pseudonym);
        erasedNow = e.records + kept;
        if (erasedNow > 0) {
          await m.appendAudit({
            action: "Erasure",
            subject,
            actor: AUDIT_ACTOR,
            reason: "every purpose denied: stored records and kept cases erased (GDPR Art. 17, 21)",
            details: { records: e.records, annotations: e.annotations, keptCases: kept },
          });
        }
      }
      const tainted = (await m.datasetsContaining(pseudonym))
        .filter((d) => d.namespace === key.namespace)
        .map((d) => d.job);
      const before = new Set(previous.enforcement?.datasetsTainted ?? []);
      const newlyTainted = tainted.filter((t) => !before.has(t));
      if (previous.observedGeneration !== generation) {
        await m.appendAudit({
          action: "ConsentChanged",
          subject,
          actor: AUDIT_ACTOR,
          reason: `decision ${rec.spec.decision}, state ${rec.spec.state}`,
          details: {
            decision: rec.spec.decision,
            state: rec.spec.state,
            provisions: rec.spec.provisions.length,
            erasesEverything: eraseAll,
            datasetsTainted: tainted.length,
          },
        });
      }
      const casesErased = Math.max(previous.enforcement?.casesErased ?? 0, put.erased + erasedNow);
      const enforced = rec.spec.state === "Active";
      const conditions = setCondition(
        previous.conditions,
        {
          type: "Enforced",
          status: enforced ? "True" : "False",
          reason: enforced ? "Enforced" : "Inactive",
          message: enforced
            ? `the monitor enforces the decision${eraseAll ? "; stored cases erased" : ""}`
            : "the record is Inactive: kept for audit, not enforced",
          observedGeneration: generation,
        },
        now,
      );
      const enforcement = {
        casesExcluded: put.excluded,
        casesErased,
        ...(tainted.length > 0 ? { datasetsTainted: tainted.sort() } : {}),
      };
      // lastEnforcedAt moves only when what is enforced changed: stamping every reconcile would make each status
      // write the watch event that triggers the next reconcile (a loop of PUTs to the monitor).
      const { lastEnforcedAt: enforcedAt, ...previousEnforcement } = previous.enforcement ?? {};
      const unchanged =
        enforcedAt !== undefined &&
        previous.observedGeneration === generation &&
        canonicalJson(conditions) === canonicalJson(previous.conditions ?? []) &&
        canonicalJson(enforcement) === canonicalJson(previousEnforcement);
      await statuses.write(raw, {
        ...previous,
        observedGeneration: generation,
        conditions,
        enforcement: { ...enforcement, lastEnforcedAt: unchanged ? enforcedAt : now.toISOString() },
      });
      if (newlyTainted.length > 0) {
        events.record(
          raw,
          "Warning",
          "DatasetsTainted",
          "Enforce",
          `RetrainJobs ${newlyTainted.join(", ")} froze datasets holding this patient's cases before the record; models trained on them cannot un-learn them`,
        );
      }
      return undefined;
    } catch (err) {
      const name = err instanceof Error ? err.name : "Error";
      if (name !== "MonitorUnavailableError" && name !== "MonitorError") throw err;
      const enforced = previous.conditions?.find((c) => c.type === "Enforced");
      if (
        name === "MonitorUnavailableError" &&
        previous.observedGeneration === generation &&
        (enforced?.reason === "Enforced" || enforced?.reason === "Inactive")
      ) {
        // This generation was confirmed before the outage and the monitor keeps it in its database: a re-reconcile
        // during the outage (a relist, say) does not un-enforce it. Re-assert it once the monitor is back.
        ctx.log.warn({ err: name }, "monitor unreachable; the decision it confirmed stays in force");
        return { requeueAfterMs: RETRY_MS };
      }
      ctx.log.warn({ err: name }, "consent not enforced yet; retrying");
      const conditions = setCondition(
        previous.conditions,
        {
          type: "Enforced",
          status: "False",
          reason: name === "MonitorUnavailableError" ? "MonitorUnavailable" : "MonitorRefused",
          message: "the monitor has not confirmed the decision yet; retrying with backoff",
          observedGeneration: generation,
        },
        now,
      );
      await statuses.write(raw, { ...previous, conditions });
      // throwing hands the key to the work queue's exponential backoff
      throw new Error("consent not enforced yet: the monitor did not confirm it");
    }
  }

  return {
    name: CONTROLLER_NAME,
    for: ConsentRecordKind,
    reconciler: { reconcile },
    workers: opts.workers ?? 2,
  };
}
