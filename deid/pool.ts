/**
 * Processes file tasks on N worker threads (`--jobs N`), or in-process for N = 1. Each worker runs whole files
 * (read, de-identify, write), so CPU and I/O overlap across cores.
 *
 * Per-file watchdog: a file not finished within `timeoutMs` is reported as TIMEOUT and the run goes on, so a
 * run always ends. On worker threads the stuck worker is terminated and replaced (this also ends a CPU-bound
 * hang); in-process (N = 1) the stuck I/O is abandoned (a blocked read of a FIFO or a hung mount cannot be
 * cancelled, but no longer holds up the run).
 */
import { Worker } from "node:worker_threads";
import { type FileTask, processFile, quarantined, type ReportEntry, type RunConfig } from "./process-file.ts";

export interface Progress {
  done: number;
  total: number;
  quarantined: number;
  elapsedMs: number;
}

export interface PoolOptions {
  timeoutMs: number;
  onProgress?: (p: Progress) => void;
  now?: () => number;
}

function workerUrl(): URL {
  // From source (tsx) the module is .ts and needs the loader shim; a build runs the compiled worker.js.
  return import.meta.url.endsWith(".ts")
    ? new URL("./worker-shim.mjs", import.meta.url)
    : new URL("./worker.js", import.meta.url);
}

function timedOut(task: FileTask, config: RunConfig, ms: number): ReportEntry {
  const reason = `not finished within ${Math.round(ms / 1000)} s (per-file watchdog, --timeout); abandoned`;
  return quarantined(task, config, "TIMEOUT", reason);
}

/** Resolves to the value, or to `onTimeout()` after `ms` (the timer never keeps the process alive). */
function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout()), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

class Slot {
  private worker: Worker;
  private ready!: Promise<void>;
  private pending?: { id: number; resolve: (e: ReportEntry) => void; reject: (e: Error) => void };
  constructor(private readonly config: RunConfig) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(workerUrl(), { workerData: this.config });
    this.ready = new Promise<void>((resolve, reject) => {
      w.once("message", () => resolve());
      w.once("error", reject);
    });
    w.on("message", (m: { id?: number; entry?: ReportEntry }) => {
      if (m.entry && this.pending && this.pending.id === m.id) {
        const p = this.pending;
        this.pending = undefined;
        p.resolve(m.entry);
      }
    });
    w.on("error", (err) => {
      this.pending?.reject(err);
      this.pending = undefined;
    });
    w.on("exit", (code) => {
      if (this.pending && w === this.worker)
        this.pending.reject(new Error(`worker exited with code ${code}`));
    });
    return w;
  }

  async run(task: FileTask, id: number, timeoutMs: number): Promise<ReportEntry> {
    await this.ready;
    const done = new Promise<ReportEntry>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.worker.postMessage({ ...task, id });
    });
    return withTimeout(done, timeoutMs, () => {
      this.pending = undefined;
      const stuck = this.worker;
      this.worker = this.spawn();
      void stuck.terminate();
      return timedOut(task, this.config, timeoutMs);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

export async function runTasks(
  tasks: FileTask[],
  config: RunConfig,
  jobs: number,
  opts: PoolOptions,
): Promise<ReportEntry[]> {
  const now = opts.now ?? Date.now;
  const started = now();
  const results: ReportEntry[] = new Array(tasks.length);
  let done = 0;
  let quarantined = 0;
  const record = (i: number, e: ReportEntry) => {
    results[i] = e;
    done++;
    if (e.outcome === "quarantined") quarantined++;
    opts.onProgress?.({ done, total: tasks.length, quarantined, elapsedMs: now() - started });
  };
  if (jobs <= 1 || tasks.length <= 1) {
    for (const [i, t] of tasks.entries()) {
      record(
        i,
        await withTimeout(processFile(t, config), opts.timeoutMs, () => timedOut(t, config, opts.timeoutMs)),
      );
    }
    return results;
  }
  let next = 0;
  const slots = Array.from({ length: Math.min(jobs, tasks.length) }, () => new Slot(config));
  try {
    await Promise.all(
      slots.map(async (slot) => {
        while (next < tasks.length) {
          const i = next++;
          record(i, await slot.run(tasks[i] as FileTask, i, opts.timeoutMs));
        }
      }),
    );
  } finally {
    await Promise.all(slots.map((s) => s.close()));
  }
  return results;
}
