/**
 * The ValidationPolicy decision: a pure function of (policy, previous status, the MedModel, what the monitor
 * answered, now) → the next status, the events, the RetrainJobs that must exist and the audit entries. The
 * controller (controller.ts) gathers the inputs and applies the outputs; nothing here does I/O or reads a
 * clock. The rules are in docs/validation.md.
 */
import type { PolicyAction } from "../../crds/validationpolicy.ts";
import { type Condition, findCondition, setCondition, toRfc3339 } from "../runtime/index.ts";
import { planActions } from "./actions.ts";
import { gateKey } from "./audit-gate.ts";
import { holdsSuspension, summarize, updateEpisodes } from "./episodes.ts";
import { retrainJobName } from "./retrain.ts";
import { parseResume } from "./resume.ts";
import { evaluationDue, nextAttemptMs } from "./schedule.ts";
import {
  CONDITION,
  type AuditRequest,
  type Decision,
  type DecideInput,
  type Episode,
  type PolicyEvent,
  type RetrainRequest,
} from "./types.ts";
import { driftFrom, type Finding, verdictsFrom } from "./verdict.ts";

export const MONITOR_UNAVAILABLE = "MonitorUnavailable";
const MAX_CONDITION_MESSAGE = 2048;

const list = (findings: readonly Finding[], max = 3) => {
  const head = findings.slice(0, max).map((f) => f.message);
  const more = findings.length > max ? ` (+${findings.length - max} more)` : "";
  return `${head.join("; ")}${more}`.slice(0, MAX_CONDITION_MESSAGE);
};

/** Whether an evaluation is due for this reconcile (the controller calls the monitor only then). */
export function shouldEvaluate(input: Omit<DecideInput, "monitor">): ReturnType<typeof evaluationDue> {
  if (!input.model) return { due: undefined, inMs: 0 };
  return evaluationDue({
    now: input.now,
    interval: input.policy.spec.schedule.interval,
    generation: input.policy.generation,
    lastEvaluation: input.previous.lastEvaluation,
    conditions: input.previous.conditions,
    evaluatedVersions: (input.previous.results ?? []).map((r) => r.version),
    versions: input.model.versions,
  });
}

const ACTION_EVENT: Record<PolicyAction, { type: "Normal" | "Warning"; reason: string } | undefined> = {
  Alert: undefined, // the episode's start event is the alert
  Failover: { type: "Warning", reason: "FailoverRequested" },
  Suspend: { type: "Warning", reason: "SuspendRequested" },
  Retrain: { type: "Normal", reason: "RetrainRequested" },
};

export function decide(input: DecideInput): Decision {
  const { policy, previous, model, monitor, now } = input;
  const at = toRfc3339(now);
  const gen = policy.generation;
  const events: PolicyEvent[] = [];
  const audit: AuditRequest[] = [];
  let conditions: Condition[] = [...(previous.conditions ?? [])];
  const set = (type: string, status: Condition["status"], reason: string, message: string) => {
    conditions = setCondition(
      conditions,
      { type, status, reason, message: message.slice(0, MAX_CONDITION_MESSAGE), observedGeneration: gen },
      now,
    );
  };
  const status = { ...previous, observedGeneration: gen };
  let episodes: Episode[] = (previous.episodes ?? []).map((e) => ({ ...e }));
  const interval = policy.spec.schedule.interval;

  if (!model) {
    set(CONDITION.Ready, "False", "ModelNotFound", `MedModel ${policy.spec.modelRef.name} not found`);
    set(CONDITION.Stalled, "True", "ModelNotFound", `MedModel ${policy.spec.modelRef.name} not found`);
    set(CONDITION.Reconciling, "False", "ModelNotFound", "waiting for the MedModel to exist");
    return {
      status: { ...status, conditions },
      events,
      retrain: [],
      audit,
      requeueAfterMs: nextAttemptMs(interval, false, 0),
    };
  }

  // ---- a person lifts a Suspend (decided without an evaluation; reported once its audit entry is accepted) ----
  const resume = parseResume(model.annotations);
  if (resume) {
    const key = resume.ok ? resume.request.episode : resume.episode;
    const ep = episodes.find((e) => e.key === key);
    if (ep && holdsSuspension(ep)) {
      if (resume.ok) {
        ep.resumed = { by: resume.request.by, reason: resume.request.reason, at };
        const gate = gateKey(ep.key, "Resume");
        events.push({
          type: "Normal",
          reason: "Resumed",
          action: "Resume",
          note: `${resume.request.by} resumed ${model.name} after episode ${ep.key}: ${resume.request.reason}`,
          gate,
        });
        audit.push({
          key: auditKey(policy, ep.key, "Resume"),
          action: "Resume",
          reason: resume.request.reason,
          details: { episode: ep.key, version: ep.version, resumedBy: resume.request.by },
          gate: { key: gate },
        });
      } else {
        events.push({
          type: "Warning",
          reason: "ResumeIgnored",
          action: "Resume",
          note: `resume of episode ${ep.key} needs ${resume.missing.join(" and ")} (who resumes, and why)`,
        });
      }
    }
  }

  // ---- the monitor ----
  if (monitor.kind === "unavailable") {
    // Fail safe: an outage changes Ready (and says so once), never verdicts, episodes or actions.
    const wasDown = findCondition(previous.conditions, CONDITION.Ready)?.reason === MONITOR_UNAVAILABLE;
    set(CONDITION.Ready, "False", MONITOR_UNAVAILABLE, `monitor unavailable: ${monitor.message}`);
    set(CONDITION.Reconciling, "True", MONITOR_UNAVAILABLE, "retrying the evaluation");
    set(CONDITION.Stalled, "False", MONITOR_UNAVAILABLE, "transient: the controller retries");
    if (!wasDown)
      events.push({
        type: "Warning",
        reason: MONITOR_UNAVAILABLE,
        action: "Evaluate",
        note: `policy not evaluated, no action taken: ${monitor.message}`.slice(0, 1024),
      });
    return {
      status: { ...status, conditions, episodes: episodes.length ? episodes : undefined },
      events,
      retrain: retrainFor(policy.name, episodes),
      audit,
      requeueAfterMs: nextAttemptMs(interval, true, 0),
    };
  }

  let requeueAfterMs: number;
  if (monitor.kind === "evaluated") {
    const verdicts = verdictsFrom(policy.spec, model.versions, monitor.result);
    const drift = driftFrom(policy.spec, model.versions, monitor.result);
    const change = updateEpisodes(
      episodes,
      { Breach: verdicts.breaches, Drift: drift.findings },
      model.versions,
      { namespace: policy.namespace, policy: policy.name },
      at,
      policy.spec.schedule.recoveryEvaluations,
    );
    episodes = change.episodes;
    for (const ep of change.opened) {
      const fired = ep.type === "Breach" ? verdicts.breaches : drift.findings;
      events.push({
        type: "Warning",
        reason: ep.type === "Breach" ? "PerformanceBreach" : "DriftDetected",
        action: "Evaluate",
        note: `${summarize(
          fired.filter((f) => f.version === ep.version),
          900,
        )} [episode ${ep.key}]`,
      });
      audit.push({
        key: auditKey(policy, ep.key, "started"),
        action: "VerdictChanged",
        reason: ep.reason,
        details: { episode: ep.key, type: ep.type, version: ep.version, state: "started" },
      });
    }
    for (const ep of change.closed) {
      events.push({
        type: "Normal",
        reason: "Recovered",
        action: "Evaluate",
        note: `${ep.type === "Breach" ? "no metric breaches its bound" : "no drift check fires"} for ${ep.version} any more (episode ${ep.key}, since ${ep.startedAt})`,
      });
      audit.push({
        key: auditKey(policy, ep.key, "ended"),
        action: "VerdictChanged",
        reason: `episode ${ep.key} ended`,
        details: { episode: ep.key, type: ep.type, version: ep.version, state: "ended" },
      });
    }
    status.results = verdicts.results;
    status.drift = drift.rows;
    status.lastEvaluation = at;

    if (verdicts.breaches.length > 0)
      set(CONDITION.Breached, "True", "MetricOutOfBounds", list(verdicts.breaches));
    else set(CONDITION.Breached, "False", "WithinBounds", "no metric with enough cases is outside its bound");
    if (drift.findings.length > 0)
      set(CONDITION.DriftDetected, "True", "DriftDetected", list(drift.findings));
    else set(CONDITION.DriftDetected, "False", "NoDrift", "no drift check fires");
    if (verdicts.missing.length > 0 || monitor.result.insufficientData)
      set(
        CONDITION.InsufficientData,
        "True",
        "TooFewAnnotatedCases",
        verdicts.missing.length > 0 ? list(verdicts.missing) : "the monitor reports too few cases",
      );
    else set(CONDITION.InsufficientData, "False", "EnoughData", "every required metric has enough cases");
    requeueAfterMs = nextAttemptMs(interval, false, 0);
  } else {
    requeueAfterMs = nextAttemptMs(interval, false, shouldEvaluate(input).inMs);
  }

  // ---- actions, once per episode ----
  let lastAction = previous.lastAction;
  for (const ep of episodes) {
    const plan = planActions(policy.spec, ep, model.serving);
    for (const action of plan.take) {
      ep.actions = [...(ep.actions ?? []), action];
      if (action === "Retrain") ep.retrainJob = retrainJobName(policy.name, ep.key);
      lastAction = { type: action, at, reason: `${ep.type} episode ${ep.key}: ${ep.reason}`.slice(0, 1024) };
      const gate = gateKey(ep.key, action);
      const ev = ACTION_EVENT[action];
      if (ev)
        events.push({
          type: ev.type,
          reason: ev.reason,
          action,
          note: actionNote(action, ep, model.name),
          gate,
        });
      audit.push({
        key: auditKey(policy, ep.key, action),
        gate: { key: gate, lastAction },
        action: "ActionTaken",
        reason: ep.reason,
        details: {
          episode: ep.key,
          type: ep.type,
          version: ep.version,
          action,
          ...(ep.retrainJob && action === "Retrain" ? { retrainJob: ep.retrainJob } : {}),
        },
      });
    }
    for (const s of plan.skip) {
      ep.skipped = [...(ep.skipped ?? []), s];
      events.push({
        type: "Warning",
        reason: s.type === "Retrain" ? "RetrainNotAllowed" : "ActionSkipped",
        action: s.type,
        note: `${s.type} not taken for episode ${ep.key} of ${ep.version}: ${s.reason}`,
      });
    }
  }

  const references = Object.entries(input.references ?? {})
    .map(([v, note]) => `${v}: ${note}`)
    .join("; ");
  const lastEval = status.lastEvaluation ?? "never";
  set(
    CONDITION.Ready,
    "True",
    "Evaluated",
    `last evaluated ${lastEval}${references ? `; reference profiles — ${references}` : ""}`,
  );
  set(CONDITION.Reconciling, "False", "Evaluated", "up to date");
  set(CONDITION.Stalled, "False", "Evaluated", "");

  return {
    status: {
      ...status,
      conditions,
      ...(episodes.length > 0 ? { episodes } : { episodes: undefined }),
      ...(lastAction ? { lastAction } : {}),
    },
    events,
    retrain: retrainFor(policy.name, episodes),
    audit,
    requeueAfterMs,
  };
}

/**
 * The audit entry's idempotency key (docs/audit.md): one governance event, one key — a retry after a lost answer,
 * a withheld action or an operator restart gets the stored entry back instead of a duplicate. Episode keys
 * already carry the start time, so a later episode never reuses one.
 */
function auditKey(policy: { namespace: string; name: string }, episode: string, what: string): string {
  return `ValidationPolicy/${policy.namespace}/${policy.name}/${episode}/${what}`;
}

function actionNote(action: PolicyAction, ep: Episode, model: string): string {
  switch (action) {
    case "Failover":
      return `${ep.version} of ${model} must not serve (episode ${ep.key}): the MedModel fails over to its last known good version`;
    case "Suspend":
      return `${model} is suspended (episode ${ep.key}) until a person resumes it: annotate the MedModel with medmlops.io/resume-episode=${ep.key}, medmlops.io/resumed-by and medmlops.io/resume-reason`;
    case "Retrain":
      return `RetrainJob ${ep.retrainJob} for ${ep.version} (episode ${ep.key}); its candidate is never promoted silently`;
    default:
      return `${action} for episode ${ep.key}`;
  }
}

/** RetrainJobs that must exist: one per open episode that took the Retrain action. */
function retrainFor(policy: string, episodes: readonly Episode[]): RetrainRequest[] {
  return episodes
    .filter((e) => e.endedAt === undefined && e.retrainJob !== undefined)
    .map((e) => ({
      name: e.retrainJob ?? retrainJobName(policy, e.key),
      episode: e.key,
      version: e.version,
    }));
}
