/**
 * How many threads onnxruntime should use. Left alone, it starts one per core of the node — 64 on a 64-core
 * host even when the pod may use 2 CPUs — and the CFS quota then throttles the whole run. The container's
 * budget is cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"); we size the pool to it, never beyond
 * the cores the process may run on.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Threads for a cgroup v2 `cpu.max` text and the cores available: ceil(quota / period), at least 1. */
export function threadsForCpuMax(cpuMax: string | undefined, cores: number): number {
  const all = Math.max(1, Math.floor(cores));
  const m = /^\s*(max|\d+)\s+(\d+)\s*$/.exec(cpuMax ?? "");
  if (!m || m[1] === "max") return all;
  const quota = Number(m[1]);
  const period = Number(m[2]);
  if (!(quota > 0) || !(period > 0)) return all;
  return Math.min(all, Math.max(1, Math.ceil(quota / period)));
}

/** The intra-op thread count for this process: the cgroup's CPU budget, else every available core. */
export function autoIntraOpThreads(cgroupCpuMax = "/sys/fs/cgroup/cpu.max"): number {
  let text: string | undefined;
  try {
    text = readFileSync(cgroupCpuMax, "utf8");
  } catch {
    // No cgroup v2 file (outside a container, or cgroup v1): the cores are the budget.
  }
  return threadsForCpuMax(text, availableParallelism());
}
