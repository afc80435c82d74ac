/**
 * The operator's one canonical JSON: object keys sorted by UTF-16 code unit (as RFC 8785 JCS orders them; never
 * by locale), arrays kept in order, `undefined` members dropped as JSON.stringify does. Two values that are equal
 * as JSON give the same string whatever order their keys were inserted in — the API server does not keep ours.
 *
 * Used to compare desired and observed state (status writer, skip-unchanged memo) and wherever a hash of a
 * structure must be stable (e.g. the signature hash that restarts model pods).
 */
export function canonicalJson(value: unknown): string {
  const out = JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
  // JSON.stringify(undefined) is undefined; keep the return type honest for callers that hash the result.
  return out ?? "undefined";
}
