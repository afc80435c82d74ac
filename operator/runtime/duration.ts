/**
 * Go-style durations as MedModel spec fields carry them (`500ms`, `30s`, `10m`, `1h30m`, `7d`), in milliseconds.
 * The API server already rejects malformed ones (crds/ pattern); this parser still refuses them rather than
 * guessing, and callers fall back to their default.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$/;

export function parseDurationMs(value: string | undefined): number | undefined {
  if (value === undefined || !WHOLE.test(value)) return undefined;
  let total = 0;
  for (const m of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0);
  }
  return total;
}
