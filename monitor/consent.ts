/**
 * Whether a patient's consent decision denies a purpose for a model at a time (pure). Shaped after FHIR
 * Consent as the ConsentRecord spec is: the base decision holds for purposes no provision lists; a provision
 * applies when it lists the purpose, names the model (or no model) and its period contains the time the data
 * was acquired. Among applicable provisions a Deny wins (the patient's objection is never overridden by a
 * broader permit); an Inactive record is kept for audit and not enforced.
 */
import type { ConsentRecordSpec } from "../crds/consentrecord.ts";

export type ConsentPurpose = "TREAT" | "HQUALIMP" | "PATSFTY" | "HRESCH" | "SYSDEV";

export function deniesPurpose(
  spec: Pick<ConsentRecordSpec, "decision" | "provisions" | "state">,
  purpose: ConsentPurpose,
  model: string,
  at: Date,
): boolean {
  if (spec.state === "Inactive") return false;
  const t = at.getTime();
  let permit = false;
  for (const p of spec.provisions ?? []) {
    if (!p.purposes.includes(purpose)) continue;
    if (p.models && p.models.length > 0 && !p.models.includes(model)) continue;
    if (p.period?.start && t < Date.parse(p.period.start)) continue;
    if (p.period?.end && t >= Date.parse(p.period.end)) continue;
    if (p.decision === "Deny") return true;
    permit = true;
  }
  return permit ? false : spec.decision === "Deny";
}
