/**
 * Whether a patient's ConsentRecord spec permits one use of one case (pure). Used when a dataset is frozen
 * (purpose = dataset.purpose, e.g. SYSDEV) and usable for ingest (HQUALIMP).
 *
 * Rules (documented in docs/retraining.md): an Inactive record has no effect. A provision applies when it lists the
 * purpose, names the model (or names none) and its period covers the case's acquisition time (or has none).
 * Deny wins: any applicable Deny provision denies; otherwise any applicable Permit permits; otherwise the record's
 * base decision holds. An unknown acquisition time counts as covered by every period (fail towards exclusion).
 */
import type { ConsentRecordSpec, Purpose } from "../crds/index.ts";

export type ConsentSpecLike = Pick<ConsentRecordSpec, "decision" | "provisions" | "state">;

export function consentPermits(
  spec: ConsentSpecLike,
  use: { purpose: Purpose; model: string; at?: Date | undefined },
): boolean {
  if (spec.state === "Inactive") return true;
  const t = use.at?.getTime();
  const applicable = (spec.provisions ?? []).filter((p) => {
    if (!p.purposes.includes(use.purpose)) return false;
    if (p.models && p.models.length > 0 && !p.models.includes(use.model)) return false;
    if (t !== undefined && p.period?.start && t < Date.parse(p.period.start)) return false;
    if (t !== undefined && p.period?.end && t >= Date.parse(p.period.end)) return false;
    return true;
  });
  if (applicable.some((p) => p.decision === "Deny")) return false;
  if (applicable.some((p) => p.decision === "Permit")) return true;
  return spec.decision === "Permit";
}

/** True when the record denies every purpose for every model at every time: the erase-everything case. */
export function deniesEverything(spec: ConsentSpecLike): boolean {
  if (spec.state === "Inactive" || spec.decision !== "Deny") return false;
  return !(spec.provisions ?? []).some((p) => p.decision === "Permit");
}
