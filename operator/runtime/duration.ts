/**
 * Go-style durations as spec fields carry them (`500ms`, `30s`, `10m`, `1h30m`, `7d`), in milliseconds. The API
 * server already rejects malformed ones (crds/ pattern); this still refuses them rather than guessing, and callers
 * fall back to their default. The parsing itself is crds/'s, so the schema and the controllers agree.
 */
import { DURATION_PATTERN, durationToMs } from "../../crds/common.ts";

export function parseDurationMs(value: string | undefined): number | undefined {
  return value !== undefined && DURATION_PATTERN.test(value) ? durationToMs(value) : undefined;
}
