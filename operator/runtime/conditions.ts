import type { Condition } from "./types.ts";

export type ConditionInput = Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string };

/**
 * Returns a new conditions list with `next` set (metav1.Condition semantics, as apimachinery's
 * meta.SetStatusCondition): lastTransitionTime is kept unless the status flips; reason, message and
 * observedGeneration are always updated. Order of the other conditions is preserved; a new type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): Condition[] {
  const list = conditions ? [...conditions] : [];
  const i = list.findIndex((c) => c.type === next.type);
  const existing = i >= 0 ? list[i] : undefined;
  const lastTransitionTime =
    existing && existing.status === next.status
      ? existing.lastTransitionTime
      : (next.lastTransitionTime ?? toRfc3339(now));
  const merged: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  if (existing) list[i] = merged;
  else list.push(merged);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** metav1.Time: RFC 3339 with second precision, as the API server stores it. */
export function toRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
