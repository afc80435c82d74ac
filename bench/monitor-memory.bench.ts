// The monitor's RSS over a long ingest (issue 12: "grows by ≤ 100 MB over 1,000,000 ingested records on either
// engine"; docs/benchmarks.md, "Monitor memory"):
//   npx tsx bench/monitor-memory.bench.ts [--engine pglite|postgres] [--records 1000000] [--hours 144]
//     [--settings "shared_buffers=16MB;shared_buffers=128MB"] [--every 50000]
// The real `medmlops monitor` as a child process (so the benchmark's own data is not in the figure), on a fresh
// PGlite data dir (a copy of the migrated template) or a fresh PostgreSQL database; the set-up of
// bench/monitor-ingest.bench.ts (a policy with 5 % sampling, a reference frozen from 5,000 records), then
// --records records in batches of 500 over --hours hourly buckets, generated one batch at a time and posted one
// batch at a time through HTTP. The child's VmRSS (/proc) is read after the set-up ("start") and every --every
// records. --settings: `;`-separated variants of MEDMLOPS_PGLITE_SETTINGS (an empty one = the monitor's
// defaults), each run in turn in its own process; variants are interleaved when --rounds > 1.
// --first-start: instead, per variant, the monitor creating a new database on an empty dir (peak RSS, time),
// then opening it again.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freshPgliteDir, spawnMonitor } from "../monitor/testing/index.ts";
import { freshPostgresDatabase } from "../test/support/postgres.ts";
import { freezeSyntheticReference, ingestBenchBatch, ingestBenchPolicy } from "./monitor-reference.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    records: { type: "string", default: "1000000" },
    hours: { type: "string", default: "144" },
    settings: { type: "string", default: "" },
    every: { type: "string", default: "50000" },
    rounds: { type: "string", default: "1" },
    "first-start": { type: "boolean", default: false },
  },
});
const N = Number(values.records);
const SPAN = Number(values.hours) * 3_600_000;
const EVERY = Number(values.every);
const BATCH = 500;
const ns = "bench";
const model = "big";

function status(pid: number): { rssMb: number; hwmMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(kb("VmRSS") / 1024), hwmMb: Math.round(kb("VmHWM") / 1024) };
}
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** From the monitor's own /metrics (prom-client's Node metrics): V8 heap used and external memory (which holds
 * PGlite's WebAssembly linear memory, whose size only grows), in MB. */
async function nodeMemory(url: string): Promise<{ heapMb: number; externalMb: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (k: string) => Number(new RegExp(`^${k} (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN) / 1048576;
  return {
    heapMb: Math.round(v("medmlops_monitor_nodejs_heap_size_used_bytes")),
    externalMb: Math.round(v("medmlops_monitor_nodejs_external_memory_bytes")),
  };
}

async function run(settings: string): Promise<void> {
  const now = new Date(Date.UTC(2026, 11, 4, 12));
  const pg = values.engine === "postgres" ? await freshPostgresDatabase() : undefined;
  const dataDir = pg ? undefined : await freshPgliteDir();
  const mon = await spawnMonitor({
    ...(pg ? { databaseUrl: pg.url } : { dataDir: dataDir! }),
    env: { MEDMLOPS_PGLITE_SETTINGS: settings, MEDMLOPS_LOG_LEVEL: "warn" },
    timeoutMs: 300_000,
  });
  const pid = mon.process.pid!;
  try {
    await mon.client.putPolicy(ns, model, ingestBenchPolicy(model, { bySite: true }));
    await freezeSyntheticReference(mon, { namespace: ns, model, now, spanMs: SPAN });
    const start = status(pid);
    const curve: string[] = [];
    const sample = async () => {
      const m = await nodeMemory(mon.metricsUrl);
      curve.push(`${status(pid).rssMb}/${m.heapMb}/${m.externalMb}`);
    };
    await sample();
    const cpu0 = cpuMs(pid);
    const t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const batch = ingestBenchBatch({ i, n: N, batch: BATCH, namespace: ns, model, now: now, spanMs: SPAN });
      const r = await mon.client.postRecords(batch);
      if (r.accepted !== batch.length)
        throw new Error(`ingest lost records: ${JSON.stringify(r).slice(0, 200)}`);
      if ((i + BATCH) % EVERY === 0) await sample();
    }
    const seconds = (performance.now() - t0) / 1000;
    const end = status(pid);
    console.log(
      JSON.stringify({
        engine: values.engine,
        settings: settings || "(defaults)",
        records: N,
        seconds: Number(seconds.toFixed(1)),
        recordsPerSecond: Math.round(N / seconds),
        monitorCpuMsPer1000: Math.round((cpuMs(pid) - cpu0) / (N / 1000)),
        rssStartMb: start.rssMb,
        rssEndMb: end.rssMb,
        growthMb: end.rssMb - start.rssMb,
        peakMb: end.hwmMb,
        [`rssHeapExternalMbEvery${EVERY}`]: curve,
      }),
    );
  } finally {
    await mon.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  }
}

/** --first-start: the monitor creating a new PGlite database (initdb in WebAssembly) on an empty dir, then
 * idle: VmHWM (peak) and VmRSS once it listens, and the time to listen. */
async function firstStart(settings: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "medmlops-first-start-"));
  const t0 = performance.now();
  const mon = await spawnMonitor({
    dataDir,
    env: { MEDMLOPS_PGLITE_SETTINGS: settings, MEDMLOPS_LOG_LEVEL: "warn" },
    timeoutMs: 300_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const s = status(mon.process.pid!);
  await mon.stop();
  const t1 = performance.now();
  const again = await spawnMonitor({
    dataDir,
    env: { MEDMLOPS_PGLITE_SETTINGS: settings, MEDMLOPS_LOG_LEVEL: "warn" },
    timeoutMs: 300_000,
  });
  const reopenSeconds = (performance.now() - t1) / 1000;
  const r = status(again.process.pid!);
  await again.stop();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: "first-start",
      settings: settings || "(defaults)",
      seconds: Number(seconds.toFixed(1)),
      peakMb: s.hwmMb,
      rssListeningMb: s.rssMb,
      reopenSeconds: Number(reopenSeconds.toFixed(1)),
      reopenPeakMb: r.hwmMb,
      reopenRssMb: r.rssMb,
    }),
  );
}

const variants = values.settings.split(";");
if (values["first-start"]) {
  for (const v of variants) await firstStart(v.trim());
  process.exit(0);
}
for (let r = 0; r < Number(values.rounds); r++)
  for (const v of r % 2 === 0 ? variants : [...variants].reverse()) await run(v.trim());
