/**
 * "An entry is written before the action it records is reported as done" (the audit log's rule, docs/audit.md).
 * decide() plans actions and their audit entries together; the controller appends the entries first and hands
 * the keys of the ones the monitor did not accept to `withholdUnaudited`, which takes those actions back out of
 * the decision: no episode mark (so the MedModel controller does not act on a Failover or Suspend, and no
 * RetrainJob is created), no lastAction, no event, no lifted suspension. The episode stays open with the action
 * still to do, so the next reconcile (in RETRY_MS, not an interval) plans it again and retries the entry.
 *
 * Entries that record a verdict (VerdictChanged: an episode started or ended) are not gated: the episode is a
 * fact about the model, and holding it back would delay every action by an evaluation interval.
 *
 * Only a failure that a retry can cure withholds: the monitor unreachable, 5xx, 408, 429. An entry the monitor
 * refuses for good (any other 4xx — our bug, e.g. PHI_IN_AUDIT) would otherwise hold a failover or suspension
 * back forever; the action goes ahead and a Warning event says which entry is missing (`refusedForGood`).
 */
import type { PolicyAction } from "../../crds/validationpolicy.ts";
import { RETRY_MS } from "./schedule.ts";
import type { Decision, PolicyStatus } from "./types.ts";

export function gateKey(episode: string, action: PolicyAction | "Resume"): string {
  return `${episode}/${action}`;
}

/** `decision` with every action whose audit entry was not accepted (`failed` gate keys) undone. */
export function withholdUnaudited(
  decision: Decision,
  previous: PolicyStatus,
  failed: ReadonlySet<string>,
): Decision {
  if (failed.size === 0) return decision;
  const episodes = decision.status.episodes?.map((e) => {
    const ep = { ...e };
    const kept = (ep.actions ?? []).filter((a) => !failed.has(gateKey(ep.key, a)));
    if (kept.length !== (ep.actions ?? []).length) {
      if (kept.length > 0) ep.actions = kept;
      else delete ep.actions;
      if (!kept.includes("Retrain")) delete ep.retrainJob;
    }
    if (failed.has(gateKey(ep.key, "Resume"))) delete ep.resumed;
    return ep;
  });
  // lastAction: the last action of this reconcile whose entry was accepted, else what it was before.
  let lastAction = previous.lastAction;
  for (const a of decision.audit)
    if (a.gate?.lastAction && !failed.has(a.gate.key)) lastAction = a.gate.lastAction;
  const status: PolicyStatus = { ...decision.status, episodes };
  if (lastAction) status.lastAction = lastAction;
  else delete status.lastAction;
  return {
    ...decision,
    status,
    events: decision.events.filter((e) => e.gate === undefined || !failed.has(e.gate)),
    retrain: decision.retrain.filter((r) => !failed.has(gateKey(r.episode, "Retrain"))),
    requeueAfterMs: Math.min(decision.requeueAfterMs, RETRY_MS),
  };
}

/** A 4xx answer other than 408/429 (MonitorError from monitor/client.ts): retrying the same entry cannot help. */
export function refusedForGood(err: unknown): { code: string } | undefined {
  const e = err as { name?: unknown; status?: unknown; code?: unknown } | null;
  if (e?.name !== "MonitorError" || typeof e.status !== "number") return undefined;
  if (e.status < 400 || e.status >= 500 || e.status === 408 || e.status === 429) return undefined;
  return { code: typeof e.code === "string" ? e.code : String(e.status) };
}
