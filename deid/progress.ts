/**
 * The progress line of long runs on a terminal: files done/total, rate, ETA and quarantined so far. Counts only,
 * never file names (they may carry identifiers). Shown on a TTY unless --quiet; redrawn at most every 250 ms.
 */
import type { Progress } from "./pool.ts";

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function progressLine(p: Progress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.done / seconds : 0;
  const eta = rate > 0 ? (p.total - p.done) / rate : Number.POSITIVE_INFINITY;
  const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
  return `deid: ${p.done}/${p.total} files (${pct}%), ${rate.toFixed(1)} files/s, ETA ${duration(eta)}, ${p.quarantined} quarantined`;
}

/** A reporter that redraws one line on `stream` (carriage return, clear to end of line). */
export function ttyProgress(
  stream: { write(s: string): boolean },
  now: () => number = Date.now,
): { update(p: Progress): void; end(): void } {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const t = now();
      if (p.done < p.total && t - last < 250) return;
      last = t;
      shown = true;
      stream.write(`\r${progressLine(p)}\x1b[K`);
    },
    end() {
      if (shown) stream.write("\n");
    },
  };
}
