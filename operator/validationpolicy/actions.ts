/**
 * Which of an open episode's configured actions to take now — each at most once per episode:
 * - Alert: always, at once (the event, the condition and the monitor's metrics the PrometheusRules read).
 * - Failover: always, at once. It is a request the MedModel controller reads from the episode: a breached
 *   version must not serve (it fails over when the version serves, and never fails over *to* it).
 * - Suspend, Retrain: only while the episode's version serves clinicians (a candidate nobody is served by is
 *   already held back by its Failed verdict); taken later in the episode if the version starts serving.
 * - Retrain: only when changeControl.allowedModifications contains Retraining (the FDA PCCP envelope) and a
 *   retrainTemplate exists; otherwise it is skipped once, with the reason, and a Warning event says why.
 */
import type { PolicyAction, ValidationPolicySpec } from "../../crds/validationpolicy.ts";
import type { Episode } from "./types.ts";

export interface ActionPlan {
  take: PolicyAction[];
  skip: { type: PolicyAction; reason: string }[];
}

export function configuredActions(spec: ValidationPolicySpec, ep: Episode): PolicyAction[] {
  return ep.type === "Breach" ? spec.actions.onBreach : spec.actions.onDrift;
}

export function planActions(spec: ValidationPolicySpec, ep: Episode, serving: readonly string[]): ActionPlan {
  const plan: ActionPlan = { take: [], skip: [] };
  if (ep.endedAt !== undefined) return plan;
  const done = new Set<PolicyAction>([...(ep.actions ?? []), ...(ep.skipped ?? []).map((s) => s.type)]);
  const serves = serving.includes(ep.version);
  for (const action of new Set(configuredActions(spec, ep))) {
    if (done.has(action)) continue;
    switch (action) {
      case "Alert":
      case "Failover":
        plan.take.push(action);
        break;
      case "Suspend":
        if (serves) plan.take.push(action);
        break;
      case "Retrain":
        if (!spec.changeControl.allowedModifications.includes("Retraining"))
          plan.skip.push({
            type: action,
            reason: "changeControl.allowedModifications does not contain Retraining",
          });
        else if (spec.actions.retrainTemplate === undefined)
          plan.skip.push({ type: action, reason: "actions.retrainTemplate is missing" });
        else if (serves) plan.take.push(action);
        break;
    }
  }
  return plan;
}
