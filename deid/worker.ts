/** Worker thread for `--jobs N`: receives the run configuration once, then file tasks; replies with entries. */
import { parentPort, workerData } from "node:worker_threads";
import { type FileTask, processFile, type RunConfig } from "./process-file.ts";

const config = workerData as RunConfig;
parentPort?.on("message", async (task: FileTask & { id: number }) => {
  const entry = await processFile(task, config);
  parentPort?.postMessage({ id: task.id, entry });
});
// Loaded: the per-file watchdog starts counting only from here (module loading is not the file's time).
parentPort?.postMessage({ ready: true });
