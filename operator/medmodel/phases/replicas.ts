/**
 * Phase 7, replicas per version: the serving version gets spec.serving.replicas (split with the canary while one
 * runs); the failover target (fallbackVersion, last known good) is kept warm with standbyReplicas, capped at the
 * serving count; the version held after a failover keeps running so its recovery can be seen; the desired version
 * is previewed at full size while it rolls out.
 */
import { canarySplit } from "../canary.ts";
import type { DecisionState } from "./state.ts";

export function replicas(s: DecisionState): void {
  const { names, total, spec, failoverEnabled, opts, desired } = s;
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const raise = (v: string | undefined, n: number) => {
    if (v !== undefined && v in out) out[v] = Math.max(out[v] ?? 0, n);
  };
  if (s.canary) {
    const split = canarySplit(total, s.canary.weight);
    raise(s.serving, split.stable);
    raise(s.canary.version, split.canary);
  } else {
    raise(s.serving, total);
    // Warm standby so failover is a Service selector change, not a cold start.
    for (const standby of [spec.failover?.fallbackVersion, s.lastKnownGood]) {
      if (failoverEnabled && standby !== s.serving) raise(standby, Math.min(opts.standbyReplicas, total));
    }
    // The held version keeps running so its recovery can be observed; the desired one is previewed.
    if (s.failedOver && s.lastTransition) raise(s.lastTransition.from, total);
    if (!s.failedOver && s.serving !== desired) raise(desired, total);
  }
  s.replicas = out;
}
