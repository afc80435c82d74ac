/**
 * Retention (storage limitation, GDPR Art. 5(1)(e)): what the sweep deletes and what evaluation may still claim.
 * Pure: the clock is an argument. "Older than N days" applies to a record's `time` (when the inference was
 * answered, the time every window is defined on), not to when the monitor received it.
 */

export const DAY_MS = 86_400_000;

export interface RetentionConfig {
  /** Raw records whose `time` is older than this many days are deleted (with their annotations). */
  days: number;
  /** How often a sweep runs (default 1 h). */
  intervalMs?: number;
  /** Records per delete statement and transaction (default 2,000): ingest gets in between batches. */
  batchSize?: number;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 3_600_000;
export const DEFAULT_SWEEP_BATCH = 2_000;

/**
 * The pause after a batch that took `batchMs`: as long again (capped at 1 s), so a sweep holds at most about half
 * of a single-connection engine's time (PGlite serialises every statement) and queued ingest requests run in the
 * gaps instead of one statement per batch.
 */
export function pauseAfterBatch(batchMs: number): number {
  return Math.min(1000, Math.max(1, Math.round(batchMs)));
}

/** The first instant that is kept: records with time < cutoff are deleted. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

/** Whether a sweep is due: never run yet, or the interval has passed since the last one started. */
export function sweepDue(lastSweepStartedAt: Date | undefined, now: Date, intervalMs: number): boolean {
  return lastSweepStartedAt === undefined || now.getTime() - lastSweepStartedAt.getTime() >= intervalMs;
}

/**
 * Whether a window starting at `windowStart` reaches past what retention keeps. The cutoff is taken at the later
 * of the evaluation's `now` and the monitor's clock (the sweep deletes by the monitor's clock, and an evaluation
 * may ask about an earlier `now`). Records before the cutoff may be gone, so per-record metrics over such a window
 * would be partial; roll-ups (drift) are kept and stay complete.
 */
export function windowPastRetention(
  windowStart: Date,
  evaluationNow: Date,
  clockNow: Date,
  days: number | undefined,
): boolean {
  if (days === undefined) return false;
  const now = Math.max(evaluationNow.getTime(), clockNow.getTime());
  return windowStart.getTime() < retentionCutoff(new Date(now), days).getTime();
}

/** The id ranges one sweep walks, `batch` ids at a time: (lo, hi] pairs covering (minId − 1, maxId]. */
export function idChunks(minId: number, maxId: number, batch: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let lo = minId - 1; lo < maxId; lo += batch) out.push([lo, Math.min(lo + batch, maxId)]);
  return out;
}
