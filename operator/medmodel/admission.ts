/**
 * The operator's re-check of what the chart's ValidatingAdmissionPolicy refuses (charts/medmlops/templates/
 * admission-policy.yaml, the same rules on the same allow-lists): a MedModel that slipped past the API server —
 * created before the policy was installed, or in a cluster without it — is refused here. Pure.
 *
 * While refused (docs/security.md, "Admission policy"): nothing of the refused spec is built — no new or changed
 * Deployment, Service or route, nothing pruned — so pods of an earlier accepted spec keep serving; status says
 * Ready False / Degraded True (reason PolicyRefused), kstatus Stalled; one Warning Event names the field and rule.
 * The stop button still works: spec.suspend (or a ValidationPolicy's Suspend) writes control.json; a refused
 * spec never resumes a suspended model (resuming waits for an accepted spec).
 */
import type { AdmissionAllowLists } from "../runtime/index.ts";
import { findCondition, setCondition, setKstatusConditions } from "../runtime/index.ts";
import { EVENT_REASON, REASON } from "./reasons.ts";
import { CONDITION, type DecisionEvent, type DecisionStatus } from "./types.ts";

/** The fields the rules read (a MedModelSpec is assignable to it). */
export interface AdmissionSpec {
  serving?: {
    image?: string | undefined;
    caseIdKeySecretRef?: { name: string } | undefined;
    tls?: { secretName?: string | undefined; tokenSecretRef?: { name: string } | undefined } | undefined;
  };
  deid?: { keySecretRef?: { name: string } | undefined };
  versions: readonly { name: string; source: { uri: string } }[];
}

/** One refused field and the rule it breaks — never its value. */
export interface Refusal {
  field: string;
  rule: string;
}

/** The rules of the chart's policy, in its order; a list left undefined is not checked. */
export function refusals(spec: AdmissionSpec, lists: AdmissionAllowLists | undefined): Refusal[] {
  if (!lists) return [];
  const out: Refusal[] = [];
  const image = spec.serving?.image;
  if (lists.imagePrefixes && image !== undefined && !lists.imagePrefixes.some((p) => image.startsWith(p)))
    out.push({
      field: "spec.serving.image",
      rule: "must start with one of the allowed prefixes (--allowed-image-prefixes, admission.allowedImagePrefixes)",
    });
  const key = spec.deid?.keySecretRef?.name;
  if (lists.keySecrets && key !== undefined && !lists.keySecrets.includes(key))
    out.push({
      field: "spec.deid.keySecretRef",
      rule: "must name a Secret the hospital allows (--allowed-key-secrets, admission.allowedKeySecrets)",
    });
  const caseId = spec.serving?.caseIdKeySecretRef?.name;
  if (lists.caseIdKeySecrets && caseId !== undefined && !lists.caseIdKeySecrets.includes(caseId))
    out.push({
      field: "spec.serving.caseIdKeySecretRef",
      rule: "must name a Secret the hospital allows (--allowed-case-id-key-secrets, admission.allowedCaseIdKeySecrets)",
    });
  const claims = lists.modelClaims;
  if (claims) {
    for (const v of spec.versions) {
      const uri = v.source.uri;
      if (uri.startsWith("pvc://") && !claims.some((c) => uri.startsWith(`pvc://${c}/`)))
        out.push({
          field: `spec.versions[${v.name}].source.uri`,
          rule: "a pvc:// model source must name a claim the hospital allows (--allowed-model-claims, admission.allowedModelClaims)",
        });
    }
  }
  const tls = spec.serving?.tls;
  if (lists.tlsSecrets && tls) {
    const allowed = lists.tlsSecrets;
    // Without secretName the operator issues the certificate into a Secret of its own naming (issued-tls.ts):
    // nothing of the author's choosing is mounted.
    if (tls.secretName !== undefined && !allowed.includes(tls.secretName))
      out.push({
        field: "spec.serving.tls.secretName",
        rule: "must name a Secret the hospital allows (--allowed-tls-secrets, admission.allowedTlsSecrets)",
      });
    const token = tls.tokenSecretRef?.name;
    if (token !== undefined && !allowed.includes(token))
      out.push({
        field: "spec.serving.tls.tokenSecretRef",
        rule: "must name a Secret the hospital allows (--allowed-tls-secrets, admission.allowedTlsSecrets)",
      });
  }
  return out;
}

export interface RefusedInput {
  previous: DecisionStatus;
  refusals: readonly Refusal[];
  generation: number;
  now: Date;
  /** The stop button pressed (stopOf in phases/conditions.ts); undefined = not pressed. */
  stop?: { reason: string; message: string } | undefined;
}

export interface RefusedDecision {
  status: DecisionStatus;
  events: DecisionEvent[];
  /** control.json to write into the existing ConfigMap; undefined = leave it as it is (never resume here). */
  control?: { suspended: true; reason: string };
}

export function refusedDecision(input: RefusedInput): RefusedDecision {
  const { previous, generation: observedGeneration, now, stop } = input;
  const message = `refused by the admission re-check, nothing of this spec is applied (an earlier accepted spec keeps serving): ${input.refusals
    .slice(0, 5)
    .map((r) => `${r.field} ${r.rule}`)
    .join("; ")}`;
  const prevReady = findCondition(previous.conditions, CONDITION.Ready);
  const events: DecisionEvent[] = [];
  if (prevReady?.reason !== REASON.PolicyRefused || prevReady.message !== message)
    events.push({ type: "Warning", reason: EVENT_REASON.PolicyRefused, action: "Refuse", note: message });
  let conditions = setCondition(
    previous.conditions,
    { type: CONDITION.Ready, status: "False", reason: REASON.PolicyRefused, message, observedGeneration },
    now,
  );
  conditions = setCondition(
    conditions,
    { type: CONDITION.Degraded, status: "True", reason: REASON.PolicyRefused, message, observedGeneration },
    now,
  );
  if (stop) {
    const wasSuspended = findCondition(previous.conditions, CONDITION.Suspended)?.status === "True";
    conditions = setCondition(
      conditions,
      {
        type: CONDITION.Suspended,
        status: "True",
        reason: stop.reason,
        message: stop.message,
        observedGeneration,
      },
      now,
    );
    if (!wasSuspended)
      events.push({ type: "Warning", reason: EVENT_REASON.Suspended, action: "Suspend", note: stop.message });
  }
  conditions = setKstatusConditions(
    conditions,
    { state: "Stalled", reason: REASON.PolicyRefused, message },
    observedGeneration,
    now,
  );
  return {
    status: { ...previous, conditions },
    events,
    ...(stop ? { control: { suspended: true as const, reason: stop.message } } : {}),
  };
}
