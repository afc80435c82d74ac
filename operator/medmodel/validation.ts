/**
 * The requireValidation contract (docs/medmodel.md): the ValidationPolicy controller and the monitor write
 * verdicts into the POLICY's status — `status.results[]` keyed by `version`, each with `metrics[].pass` — and
 * the MedModel controller only reads them. No second writer touches the MedModel status (every controller
 * writes with the one field manager, so two writers of one status would erase each other's fields).
 *
 * For one version, over every ValidationPolicy in the model's namespace whose spec.modelRef.name is the model:
 *   - any policy with a results entry for the version where some metric has pass=false → Failed;
 *   - otherwise, every such policy has a results entry with ≥ 1 metric, all pass=true → Passed;
 *   - otherwise (no policy, no entry yet, no metrics: InsufficientData) → no verdict, promotion waits.
 */
import type { KubeObject } from "../runtime/index.ts";
import type { PolicyRequests, Verdict } from "./types.ts";

interface PolicyLike extends KubeObject {
  spec?: { modelRef?: { name?: string } };
  status?: {
    results?: { version: string; metrics?: { pass: boolean }[] }[];
    episodes?: {
      key: string;
      version: string;
      reason?: string;
      endedAt?: string;
      actions?: string[];
      resumed?: unknown;
    }[];
  };
}

export function policiesFor(model: string, policies: PolicyLike[]): PolicyLike[] {
  return policies.filter((p) => p.spec?.modelRef?.name === model && !p.metadata?.deletionTimestamp);
}

export function verdictsFor(versions: string[], policies: PolicyLike[]): Record<string, Verdict> {
  const out: Record<string, Verdict> = {};
  if (policies.length === 0) return out;
  for (const v of versions) {
    let allPassed = true;
    let failed = false;
    for (const p of policies) {
      const metrics = p.status?.results?.find((r) => r.version === v)?.metrics ?? [];
      if (metrics.some((m) => m.pass === false)) failed = true;
      if (metrics.length === 0 || metrics.some((m) => m.pass !== true)) allPassed = false;
    }
    if (failed) out[v] = "Failed";
    else if (allPassed) out[v] = "Passed";
  }
  return out;
}

/**
 * The Failover and Suspend actions of the model's policies (docs/validation.md), read from their episodes:
 * - failover: versions with an open episode whose actions contain Failover — they must not serve (the model
 *   fails over from them, never to them); once the episode ends, fail-back follows the usual rules;
 * - suspend: an episode (open or ended) whose actions contain Suspend and that no person has resumed — the
 *   model stays suspended, even after the metric recovered, until the resume annotations name that episode.
 */
export function policyRequestsFor(policies: PolicyLike[]): PolicyRequests {
  const failover = new Set<string>();
  let suspend: PolicyRequests["suspend"];
  for (const p of policies) {
    for (const e of p.status?.episodes ?? []) {
      const actions = e.actions ?? [];
      if (actions.includes("Failover") && e.endedAt === undefined) failover.add(e.version);
      if (actions.includes("Suspend") && e.resumed === undefined && suspend === undefined)
        suspend = { policy: p.metadata?.name ?? "", episode: e.key, reason: (e.reason ?? "").slice(0, 200) };
    }
  }
  return { failover: [...failover].sort(), ...(suspend ? { suspend } : {}) };
}
