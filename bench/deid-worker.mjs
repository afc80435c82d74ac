// Worker for bench/deid.bench.ts: de-identifies an in-memory corpus for a fixed time and reports the count.
// Registers tsx itself because worker threads do not inherit the main thread's TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { deidentify } = await import("../deid/index.ts");
const { TEST_KEY } = await import("../deid/testing/build.ts");
const { corpus, seconds } = workerData;
parentPort.postMessage({ ready: true });
parentPort.once("message", () => {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const r = deidentify(corpus[n % corpus.length], { key: TEST_KEY });
    if (!r.ok) throw new Error(r.code);
    n++;
  }
  parentPort.postMessage({ n, seconds: (performance.now() - start) / 1000 });
});
