/**
 * Memory budget of a batch run. One file in flight holds its input, the output being written and, for deflated
 * or masked files, one more copy: about 3 × its size, plus the engine's working set. Files above the per-file
 * limit are refused unread (TOO_LARGE), so a run needs at most BASE + jobs × (3 × maxFileBytes + PER_JOB).
 * In a container (init mode) the limit comes from the cgroup, and jobs and the per-file limit are lowered to fit.
 */
import { readFileSync } from "node:fs";

export const MIB = 1 << 20;
/** Node, the engine and its tables, the report. */
export const BASE_BYTES = 160 * MIB;
/** Per worker thread: its isolate and the engine's working set besides the file copies. */
export const PER_JOB_BYTES = 48 * MIB;
/** Default per-file limit on the command line (a 2–3 GB file is refused, not read). */
export const DEFAULT_MAX_FILE_BYTES = 1024 * MIB;

export function budgetBytes(jobs: number, maxFileBytes: number): number {
  return BASE_BYTES + jobs * (3 * maxFileBytes + PER_JOB_BYTES);
}

/**
 * Fits jobs and the per-file limit under `limitBytes` (a container's memory limit): first fewer jobs, then a
 * smaller per-file limit for the one job left. Pure.
 */
export function fitToMemory(
  limitBytes: number | undefined,
  jobs: number,
  maxFileBytes: number,
): { jobs: number; maxFileBytes: number } {
  if (limitBytes === undefined) return { jobs, maxFileBytes };
  let j = jobs;
  while (j > 1 && budgetBytes(j, maxFileBytes) > limitBytes) j--;
  let max = maxFileBytes;
  if (budgetBytes(j, max) > limitBytes) {
    max = Math.max(MIB, Math.floor((limitBytes - BASE_BYTES - PER_JOB_BYTES) / 3 / MIB) * MIB);
  }
  return { jobs: j, maxFileBytes: max };
}

/** The cgroup (v2, else v1) memory limit of this process, or undefined when there is none. */
export function containerMemoryLimit(
  read: (p: string) => string = (p) => readFileSync(p, "utf8"),
): number | undefined {
  for (const p of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    try {
      const v = read(p).trim();
      if (v === "max") return undefined;
      const n = Number(v);
      // cgroup v1 reports "no limit" as a huge number.
      if (Number.isFinite(n) && n > 0 && n < 2 ** 60) return n;
    } catch {
      // not this cgroup version
    }
  }
  return undefined;
}
