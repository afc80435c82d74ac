/**
 * The RetrainJob controller (enabled by `medmlops operator --monitor-url`): gather → decide → act → audit → status.
 *
 * - gather: the RetrainJob, its MedModel (versions and their sources), the ValidationPolicy's change control,
 *   the frozen dataset (freezing it through the monitor once: idempotent, keyed by the job's uid), the training
 *   and evaluation Jobs and the trainer pod's termination message, the evaluation report from the monitor.
 * - decide: decide.ts, pure.
 * - act: apply the Job the decision asks for (owned by the RetrainJob), or append the candidate to the MedModel's
 *   spec.versions by server-side apply under the field manager "medmlops-retrainjob" — never activeVersion.
 * - audit entries (C4) before the status that reports the step; status by the StatusWriter (sole writer).
 */
import { z } from "zod";
import { type RetrainJob, RetrainJobSchema, ValidationPolicySpecSchema } from "../../crds/index.ts";
import { MedModelKind, RetrainJobKind, ValidationPolicyKind } from "../kinds.ts";
import {
  apiVersionOf,
  type ControllerDeps,
  type ControllerSpec,
  Kinds,
  MANAGED_PODS_VIEW,
  type KubeObject,
  type ObjectKey,
  type ReconcileContext,
  StatusWriter,
  setCondition,
} from "../runtime/index.ts";
import {
  type Decision,
  decide,
  type FrozenDataset,
  type JobState,
  type Observed,
  TERMINAL,
} from "./decide.ts";
import type { ChangeControl } from "./gate.ts";
import {
  buildEvalJob,
  buildTrainJob,
  jobMonitorCa,
  monitorCaConfigMap,
  defaultCandidateUri,
  evalJobName,
  LABEL_RETRAINJOB,
  trainJobName,
} from "./job.ts";
import type { AuditInput } from "../../monitor/audit/entry.ts";
import type { EvaluationReport } from "../../monitor/datasets/report.ts";
import type { DatasetSummary, FreezeRequest } from "../../monitor/datasets/wire.ts";

export const CONTROLLER_NAME = "retrainjob";
export const AUDIT_ACTOR = "medmlops-operator/retrainjob";
/** The field manager of the appended candidate version: apart from GitOps' and the operator's own. */
export const CANDIDATE_FIELD_MANAGER = "medmlops-retrainjob";

/** What the controller needs of the monitor (MonitorClient has all of it). */
export interface RetrainMonitorPort {
  freezeDataset(id: string, req: FreezeRequest): Promise<DatasetSummary>;
  getEvaluation(id: string): Promise<EvaluationReport | undefined>;
  appendAudit(entry: AuditInput): Promise<unknown>;
}

export interface RetrainJobControllerOptions {
  monitor: RetrainMonitorPort;
  monitorUrl: string;
  /** The medmlops image for the init and evaluation containers. */
  image: string;
  /** PVC the trainer writes candidates to (`<claim>/retrain/<namespace>/<job>/model.onnx`). */
  outputClaim: string;
  workers?: number;
}

type RetrainStatus = NonNullable<RetrainJob["status"]>;
type ModelObject = KubeObject & {
  spec?: {
    versions?: { name: string; source: { uri: string; sha256: string } }[];
    modelCard?: { modalities?: string[] };
  };
};
type JobObject = KubeObject & {
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    startTime?: string;
    active?: number;
  };
};
type PodObject = KubeObject & {
  status?: {
    containerStatuses?: { name: string; state?: { terminated?: { message?: string; exitCode?: number } } }[];
  };
};

export function jobState(job: JobObject | undefined, pods: PodObject[], container: string): JobState {
  if (!job) return { state: "absent" };
  const cond = (t: string) => job.status?.conditions?.find((c) => c.type === t && c.status === "True");
  const failed = cond("Failed");
  if (failed) return { state: "failed", reason: failed.reason ?? "Failed" };
  if (cond("Complete")) {
    const message = pods
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .find((c) => c.name === container && c.state?.terminated?.exitCode === 0)?.state?.terminated?.message;
    return { state: "succeeded", ...(message ? { terminationMessage: message } : {}) };
  }
  return { state: "running", ...(job.status?.startTime ? { startedAt: job.status.startTime } : {}) };
}

function changeControlOf(policySpec: unknown): (ChangeControl & { approvalsRequired: number }) | undefined {
  const parsed = ValidationPolicySpecSchema.safeParse(policySpec);
  if (!parsed.success) return undefined;
  const cc = parsed.data.changeControl;
  const floors =
    cc.performanceFloors ??
    parsed.data.metrics
      .filter((m) => m.min !== undefined)
      .map((m) => ({ metric: m.name, min: m.min as number }));
  return {
    allowedModifications: cc.allowedModifications,
    floors,
    maxSiteDegradation: cc.maxSiteDegradation,
    approvalsRequired: cc.approvalsRequired,
  };
}

/** Without a policyRef: the ValidationPolicy defaults (Retraining allowed, no floors, 0.02, one approval). */
const DEFAULT_CHANGE_CONTROL = {
  allowedModifications: ["Retraining"],
  floors: [],
  maxSiteDegradation: 0.02,
  approvalsRequired: 1,
};

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : "Error";
}

export function retrainJobController(
  deps: ControllerDeps,
  opts: RetrainJobControllerOptions,
): ControllerSpec {
  const { cache, client, events } = deps;
  const statuses = new StatusWriter<RetrainStatus>(client);

  async function gatherDataset(
    rj: RetrainJob,
    model: ModelObject,
    now: Date,
    ctx: ReconcileContext,
  ): Promise<Observed["dataset"]> {
    if (rj.status?.dataset) return undefined;
    const d = rj.spec.dataset;
    try {
      const summary = await opts.monitor.freezeDataset(rj.metadata.uid as string, {
        namespace: rj.metadata.namespace as string,
        model: rj.spec.modelRef.name,
        job: rj.metadata.name as string,
        startedAt: rj.status?.startedAt ?? rj.metadata.creationTimestamp ?? now.toISOString(),
        dataset: {
          ...d,
          // default modalities: the model card's
          ...(d.modalities
            ? {}
            : model.spec?.modelCard?.modalities
              ? { modalities: model.spec.modelCard.modalities as never }
              : {}),
        },
      });
      const frozen: FrozenDataset = {
        id: summary.id,
        manifestSha256: summary.manifestSha256,
        cases: summary.cases,
        testCases: summary.testCases,
        excludedByConsent: summary.excludedByConsent,
        sites: summary.sites,
      };
      return frozen;
    } catch (err) {
      if (errorName(err) === "MonitorUnavailableError") {
        ctx.log.warn({ err: (err as Error).message }, "monitor unavailable; dataset not frozen yet");
        return "unavailable";
      }
      const e = err as { code?: string; message?: string };
      return { error: (e.message ?? "refused").slice(0, 256), code: e.code ?? "ERROR" };
    }
  }

  async function reconcile(key: ObjectKey, ctx: ReconcileContext) {
    const raw = cache.get<KubeObject>(RetrainJobKind, key);
    if (!raw) {
      statuses.forget(key);
      return undefined;
    }
    if (raw.metadata?.deletionTimestamp) return undefined;
    const now = deps.now();
    const parsed = RetrainJobSchema.safeParse(raw);
    if (!parsed.success) {
      const previous = statuses.current(raw);
      const conditions = setCondition(
        previous.conditions,
        {
          type: "Ready",
          status: "False",
          reason: "InvalidSpec",
          message: parsed.error.issues[0]?.message ?? "invalid spec",
          observedGeneration: raw.metadata?.generation ?? 1,
        },
        now,
      );
      await statuses.write(raw, { ...previous, conditions });
      return undefined;
    }
    const rj = parsed.data;
    const ns = key.namespace;
    const model = cache.get<ModelObject>(MedModelKind, { namespace: ns, name: rj.spec.modelRef.name });
    const versions = Object.fromEntries((model?.spec?.versions ?? []).map((v) => [v.name, v.source.sha256]));
    const policyRef = rj.spec.evaluation.policyRef;
    const changeControl = policyRef
      ? changeControlOf(
          cache.get<KubeObject & { spec?: unknown }>(ValidationPolicyKind, {
            namespace: ns,
            name: policyRef.name,
          })?.spec,
        )
      : DEFAULT_CHANGE_CONTROL;
    const phase = rj.status?.phase;
    const terminal = phase !== undefined && TERMINAL.has(phase);
    const datasetId = rj.metadata.uid as string;
    const dataset =
      model && !terminal && changeControl ? await gatherDataset(rj, model, now, ctx) : undefined;
    const name = rj.metadata.name as string;
    const pods = (job: string) =>
      cache.list<PodObject>(Kinds.Pod, { namespace: ns, labels: { "job-name": job } });
    const trainJob = jobState(
      cache.get<JobObject>(Kinds.Job, { namespace: ns, name: trainJobName(name) }),
      pods(trainJobName(name)),
      "trainer",
    );
    const evalJob = jobState(
      cache.get<JobObject>(Kinds.Job, { namespace: ns, name: evalJobName(name) }),
      pods(evalJobName(name)),
      "evaluate",
    );
    let report: EvaluationReport | undefined;
    if (rj.status?.candidate && !rj.status.evaluation && !terminal) {
      report = await opts.monitor.getEvaluation(datasetId).catch(() => undefined);
    }
    const decision = decide(
      {
        now,
        job: rj,
        ...(model ? { model: { versions } } : {}),
        ...(changeControl ? { changeControl } : {}),
        ...(dataset ? { dataset } : {}),
        trainJob,
        evalJob,
        ...(report ? { report } : {}),
      },
      { defaultCandidateUri: defaultCandidateUri(rj, opts.outputClaim) },
    );
    await act(rj, model, decision, datasetId);
    // Audit before status (C4): a step is reported done only once its entry is durable. An outage of the audit
    // log holds the status back (retried with backoff): governance events are not optional.
    // Each action happens at most once in a run: keyed by the RetrainJob's uid and the action, a reconcile that
    // repeats before its status write landed (or after a restart) appends nothing twice.
    for (const a of decision.audit) {
      await opts.monitor
        .appendAudit({
          action: a.action,
          subject: { namespace: ns, kind: "RetrainJob", name },
          actor: AUDIT_ACTOR,
          reason: a.reason.slice(0, 4096),
          details: { model: rj.spec.modelRef.name, candidateVersion: rj.spec.candidateVersion, ...a.details },
          key: `retrainjob:${datasetId}:${a.action}`,
        })
        .catch((err: unknown) => {
          // The same event is already in the log, worded differently (e.g. a message that changed between
          // reconciles): it is recorded, so the step may be reported.
          if ((err as { code?: string }).code !== "AUDIT_KEY_CONFLICT") throw err;
          ctx.log.warn({ action: a.action }, "audit entry already recorded under its key with other content");
        });
    }
    const previous = statuses.current(raw);
    let conditions = previous.conditions;
    for (const c of decision.conditions) conditions = setCondition(conditions, c, now);
    const status: RetrainStatus = {
      ...previous,
      ...decision.status,
      phase: decision.phase,
      observedGeneration: rj.metadata.generation ?? 1,
      conditions,
      ...(decision.step.kind === "createTrainJob" || rj.status?.jobName
        ? { jobName: trainJobName(name) }
        : {}),
    };
    await statuses.write(raw, status);
    if (decision.event)
      events.record(raw, decision.event.type, decision.event.reason, "Retrain", decision.event.message);
    return decision.requeueAfterMs ? { requeueAfterMs: decision.requeueAfterMs } : undefined;
  }

  async function act(
    rj: RetrainJob,
    model: ModelObject | undefined,
    d: Decision,
    datasetId: string,
  ): Promise<void> {
    const sourceOf = (v: string) => model?.spec?.versions?.find((x) => x.name === v)?.source;
    const monitorCa = deps.config.monitorCa?.();
    const jobOpts = {
      image: deps.config.sidecarImage,
      monitorUrl: opts.monitorUrl,
      outputClaim: opts.outputClaim,
      datasetId,
      ...(monitorCa ? { monitorCa } : {}),
    };
    // The Jobs' pods trust an https:// monitor with the operator's CA, from a ConfigMap the RetrainJob owns.
    const ca = jobMonitorCa(jobOpts);
    const withCa = async (job: KubeObject) => {
      if (ca) await client.apply(monitorCaConfigMap(rj, ca));
      await client.apply(job);
    };
    switch (d.step.kind) {
      case "createTrainJob": {
        const base = sourceOf(rj.spec.baseVersion);
        if (base) await withCa(buildTrainJob(rj, base, jobOpts));
        return;
      }
      case "createEvalJob": {
        const base = sourceOf(rj.spec.evaluation.compareTo ?? rj.spec.baseVersion);
        if (base) await withCa(buildEvalJob(rj, base, d.step.candidate, jobOpts));
        return;
      }
      case "appendCandidate":
        await client.apply(
          {
            apiVersion: apiVersionOf(MedModelKind),
            kind: "MedModel",
            metadata: { name: rj.spec.modelRef.name, namespace: rj.metadata.namespace },
            spec: {
              versions: [
                {
                  name: rj.spec.candidateVersion,
                  source: d.step.candidate,
                  description: `retrained from ${rj.spec.baseVersion} by RetrainJob ${rj.metadata.name}`,
                },
              ],
            },
          },
          { fieldManager: CANDIDATE_FIELD_MANAGER, force: false },
        );
        return;
      default:
        return;
    }
  }

  return {
    name: CONTROLLER_NAME,
    for: RetrainJobKind,
    owns: [Kinds.Job],
    ownedView: { labelSelector: LABEL_RETRAINJOB },
    watches: [
      {
        gvk: Kinds.Pod,
        // The operator's one Pod view (the MedModel controller watches model pods through it too): Job pods carry
        // managed-by=medmlops; the map keeps those of RetrainJobs.
        ...MANAGED_PODS_VIEW,
        map: (p) => {
          const job = p.metadata?.labels?.[LABEL_RETRAINJOB];
          return job ? [{ namespace: p.metadata?.namespace ?? "", name: job }] : [];
        },
      },
      {
        gvk: MedModelKind,
        map: (m) =>
          cache
            .list<KubeObject & { spec?: { modelRef?: { name?: string } } }>(RetrainJobKind, {
              namespace: m.metadata?.namespace ?? "",
            })
            .filter((r) => r.spec?.modelRef?.name === m.metadata?.name)
            .map((r) => ({ namespace: r.metadata?.namespace ?? "", name: r.metadata?.name ?? "" })),
      },
      {
        // the change control a run is gated by (evaluation.policyRef): read from the cache, so it must be watched
        gvk: ValidationPolicyKind,
        map: (p) =>
          cache
            .list<KubeObject & { spec?: { evaluation?: { policyRef?: { name?: string } } } }>(
              RetrainJobKind,
              {
                namespace: p.metadata?.namespace ?? "",
              },
            )
            .filter((r) => r.spec?.evaluation?.policyRef?.name === p.metadata?.name)
            .map((r) => ({ namespace: r.metadata?.namespace ?? "", name: r.metadata?.name ?? "" })),
      },
    ],
    reconciler: { reconcile },
    workers: opts.workers ?? 2,
  };
}

export const OutputClaim = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
  .max(253);
