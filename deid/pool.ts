/**
 * Processes file tasks on N worker threads (`--jobs N`), or in-process for N = 1. Each worker runs whole files
 * (read, de-identify, write), so CPU and I/O overlap across cores.
 */
import { Worker } from "node:worker_threads";
import { type FileTask, processFile, type ReportEntry, type RunConfig } from "./process-file.ts";

function workerUrl(): URL {
  // From source (tsx) the module is .ts and needs the loader shim; a build runs the compiled worker.js.
  return import.meta.url.endsWith(".ts")
    ? new URL("./worker-shim.mjs", import.meta.url)
    : new URL("./worker.js", import.meta.url);
}

export async function runTasks(tasks: FileTask[], config: RunConfig, jobs: number): Promise<ReportEntry[]> {
  if (jobs <= 1 || tasks.length <= 1) {
    const out: ReportEntry[] = [];
    for (const t of tasks) out.push(await processFile(t, config));
    return out;
  }
  const results: ReportEntry[] = new Array(tasks.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.min(jobs, tasks.length) },
    () => new Worker(workerUrl(), { workerData: config }),
  );
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= tasks.length) {
                resolve();
                return;
              }
              const id = next++;
              w.postMessage({ ...tasks[id], id });
            };
            w.on("message", (m: { id: number; entry: ReportEntry }) => {
              results[m.id] = m.entry;
              feed();
            });
            w.on("error", reject);
            w.on("exit", (code) => {
              if (next < tasks.length || code !== 0) reject(new Error(`worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
