// Monitor benchmarks, per engine (PGlite in a temp dir, PostgreSQL from test/support/postgres.ts):
//   npx tsx bench/monitor.bench.ts [--engines pglite,postgres] [--small 10000] [--big 200000] [--rounds 5]
// Prints JSON lines and a summary:
//   ingest   — records/s over the big model's ingest (HTTP, batches of 500, 11 features a record), sequential
//              requests from this process to the monitor it runs (in-process: the client's cost is included).
//   evaluate — one policy (5 metrics by 3 subgroups, 10 drift checks) over a window of --small vs --big records
//              (both spread over the same 144 hourly buckets; 2,000 annotated cases each — annotation effort
//              does not grow with traffic), interleaved rounds, medians; ratio big/small.
//   peer     — SciPy's ks_2samp (+ a numpy PSI) on the raw arrays of the big window (5 features vs the
//              reference's raw values), timed inside Python (what a data scientist would run without roll-ups),
//              and Evidently's data drift report on the same arrays when its venv exists (bench/evidently-venv.sh).
//   rss      — the process's RSS before and after ingesting the big window.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type StartedMonitor, startMonitor } from "../monitor/testing/index.ts";
import { syntheticCases } from "../monitor/testing/records.ts";
import { freezeSyntheticReference } from "./monitor-reference.ts";
import { freshPostgresDatabase } from "../test/support/postgres.ts";

const { values } = parseArgs({
  options: {
    engines: { type: "string", default: "pglite,postgres" },
    small: { type: "string", default: "10000" },
    big: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
  },
});
const SMALL = Number(values.small);
const BIG = Number(values.big);
const ROUNDS = Number(values.rounds);
const NOW = new Date("2026-12-04T12:00:00Z");
const SPAN = 6 * 24 * 3_600_000;
const FEATURES = ["image:f0", "image:f1", "image:f2", "image:f3", "image:f4"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out = (o: object) => console.log(JSON.stringify(o));

async function open(engine: string): Promise<{ m: StartedMonitor; close: () => Promise<void> }> {
  if (engine === "pglite") {
    const m = await startMonitor({ now: () => NOW });
    return { m, close: () => m.stop() };
  }
  const db = await freshPostgresDatabase();
  const m = await startMonitor({ databaseUrl: db.url, now: () => NOW });
  return {
    m,
    close: async () => {
      await m.stop();
      await db.drop();
    },
  };
}

async function load(m: StartedMonitor, model: string, n: number): Promise<number> {
  const ns = "bench";
  await m.client.putPolicy(ns, model, {
    model,
    spec: {
      modelRef: { name: model },
      sampling: { rate: 0.05, strategy: "Random", minPerWindow: 0 },
      metrics: ["sensitivity", "specificity", "ppv", "npv", "accuracy"].map((name) => ({
        name,
        min: 0.1,
        minSamples: 10,
        bySubgroup: ["site", "manufacturer", "scannerModel"],
      })),
      drift: {
        window: { duration: "7d" },
        checks: FEATURES.flatMap((f) => [
          { source: "input", feature: f, test: "ks", pValue: 0.01 },
          { source: "input", feature: f, test: "psi", threshold: 0.2 },
        ]),
      },
    } as never,
  });
  await freezeSyntheticReference(m, { namespace: ns, model, now: NOW, spanMs: SPAN });
  const started = performance.now();
  const batch = 500;
  let annotated = 0;
  for (let i = 0; i < n; i += batch) {
    const cases = syntheticCases({
      n: Math.min(batch, n - i),
      namespace: ns,
      model,
      start: new Date(NOW.getTime() - SPAN + Math.floor((i / n) * SPAN)),
      spanMs: Math.ceil((batch / n) * SPAN),
      caseIdPrefix: `l${i}-`,
      seed: 100 + i,
      shift: 0.2,
      sites: ["a", "b", "c"],
      manufacturers: ["GE", "Siemens", "Philips"],
    });
    const r = await m.client.postRecords(cases.map((c) => c.record));
    if (r.accepted !== cases.length)
      throw new Error(`ingest lost records: ${JSON.stringify(r).slice(0, 200)}`);
    // 2,000 annotations per model, spread over the window
    const want = Math.round(((i + batch) / n) * 2000) - annotated;
    if (want > 0) {
      await m.client.postAnnotations(
        cases.slice(0, want).map((c) => ({
          namespace: ns,
          model,
          caseId: c.record.caseId,
          positive: c.truth,
          time: NOW.toISOString(),
          source: "reader" as const,
        })),
      );
      annotated += want;
    }
  }
  return (performance.now() - started) / 1000;
}

/** The raw arrays a data scientist would have: the reference's 5,000 values and the window's n values per
 * feature (same generator, seeds and shift as the ingested records), as float64 files in a temp dir. */
function peerArrays(n: number): { dir: string; ref: string; live: string } {
  const dir = join(tmpdir(), `medmlops-bench-${process.pid}`);
  const ref = syntheticCases({ n: 5000, start: NOW, seed: 1 });
  const live = syntheticCases({ n, start: NOW, seed: 2, shift: 0.2 });
  const cols = (cs: typeof ref) => FEATURES.map((f) => Float64Array.from(cs, (c) => c.record.inputs![f]!));
  const write = (name: string, arrays: Float64Array[]) =>
    writeFileSync(join(dir, name), Buffer.concat(arrays.map((a) => Buffer.from(a.buffer))));
  mkdirSync(dir, { recursive: true });
  write("ref.f64", cols(ref));
  write("live.f64", cols(live));
  return { dir, ref: join(dir, "ref.f64"), live: join(dir, "live.f64") };
}

function scipyPeer(files: { ref: string; live: string }): number {
  const python = process.env["MEDMLOPS_ORACLE_PYTHON"] ?? join(process.cwd(), ".medmlops/venv/bin/python"); // .ci/setup.d/30-python-oracles.sh
  const script = `
import numpy as np, time, sys
from scipy.stats import ks_2samp
k = ${FEATURES.length}
ref = np.fromfile(sys.argv[1]).reshape(k, -1); live = np.fromfile(sys.argv[2]).reshape(k, -1)
ts = []
for _ in range(${ROUNDS}):
    t = time.perf_counter()
    for j in range(k):
        ks_2samp(ref[j], live[j])
        # PSI on deciles of the reference, as a data scientist would write it with numpy
        e = np.quantile(ref[j], np.linspace(0, 1, 11)[1:-1])
        p = np.bincount(np.searchsorted(e, ref[j]), minlength=10) / ref.shape[1]
        q = np.bincount(np.searchsorted(e, live[j]), minlength=10) / live.shape[1]
        float(np.sum((q - p) * np.log((q + 1e-6) / (p + 1e-6))))
    ts.append(time.perf_counter() - t)
print(sorted(ts)[len(ts)//2])
`;
  return Number(execFileSync(python, ["-c", script, files.ref, files.live], { encoding: "utf8" }).trim());
}

/**
 * Evidently (bench/evidently-venv.sh: its own venv, not the CI oracle venv) on the same raw arrays, as pandas
 * DataFrames: its data drift report with its defaults (DataDriftPreset: for > 1,000 rows, Wasserstein distance
 * normed by the reference's std on numeric columns) and the bench's own tests (ValueDrift per feature with
 * method "ks" and "psi", Evidently's implementations and thresholds). Timed inside Python from the DataFrames
 * to the computed snapshot (Dataset.from_pandas + Report.run), after one untimed warm-up run; medians of ROUNDS.
 * Returns undefined (and says why) when that venv is not there.
 */
function evidentlyPeer(files: {
  ref: string;
  live: string;
}): { presetMs: number; ksPsiMs: number } | undefined {
  const python =
    process.env["MEDMLOPS_EVIDENTLY_PYTHON"] ?? join(process.cwd(), ".medmlops/evidently-venv/bin/python");
  if (!existsSync(python)) {
    out({ bench: "peer-evidently", skipped: `${python} not found: run bash bench/evidently-venv.sh` });
    return undefined;
  }
  const script = `
import numpy as np, pandas as pd, time, sys, json, warnings
warnings.filterwarnings("ignore")
from evidently import Report, Dataset, DataDefinition
from evidently.presets import DataDriftPreset
from evidently.metrics import ValueDrift
names = ${JSON.stringify(FEATURES)}
k = len(names)
ref = np.fromfile(sys.argv[1]).reshape(k, -1); live = np.fromfile(sys.argv[2]).reshape(k, -1)
ref = pd.DataFrame({c: ref[j] for j, c in enumerate(names)}); live = pd.DataFrame({c: live[j] for j, c in enumerate(names)})
dd = DataDefinition(numerical_columns=names)
def run(metrics):
    t = time.perf_counter()
    Report(metrics).run(Dataset.from_pandas(live, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    return time.perf_counter() - t
preset = lambda: [DataDriftPreset()]
kspsi = lambda: [ValueDrift(column=c, method=m) for c in names for m in ("ks", "psi")]
run(preset()); run(kspsi())
a = []; b = []
for _ in range(${ROUNDS}):
    a.append(run(preset())); b.append(run(kspsi()))
med = lambda xs: sorted(xs)[len(xs)//2]
print(json.dumps({"presetMs": med(a) * 1000, "ksPsiMs": med(b) * 1000}))
`;
  return JSON.parse(execFileSync(python, ["-c", script, files.ref, files.live], { encoding: "utf8" })) as {
    presetMs: number;
    ksPsiMs: number;
  };
}

const summary: string[] = [];
for (const engine of values.engines!.split(",")) {
  const { m, close } = await open(engine);
  try {
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    await load(m, "small", SMALL);
    const bigSeconds = await load(m, "big", BIG);
    const rss1 = process.memoryUsage().rss;
    const ingestRate = BIG / bigSeconds;
    out({
      engine,
      bench: "ingest",
      records: BIG,
      seconds: bigSeconds,
      recordsPerSecond: Math.round(ingestRate),
    });
    out({ engine, bench: "rss", beforeMB: Math.round(rss0 / 1e6), afterMB: Math.round(rss1 / 1e6) });
    const small: number[] = [];
    const big: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [model, list] of [
        ["small", small],
        ["big", big],
      ] as const) {
        const t = performance.now();
        const e = await m.client.evaluatePolicy("bench", model, { now: NOW.toISOString(), versions: ["v1"] });
        list.push(performance.now() - t);
        if (e.drift.length !== 10) throw new Error(`expected 10 drift rows, got ${e.drift.length}`);
      }
    }
    out({ engine, bench: "evaluate", smallMs: small, bigMs: big });
    const files = peerArrays(BIG);
    let peer: number;
    let evidently: ReturnType<typeof evidentlyPeer>;
    try {
      peer = scipyPeer(files) * 1000;
      evidently = evidentlyPeer(files);
    } finally {
      rmSync(files.dir, { recursive: true, force: true });
    }
    out({ engine, bench: "peer-scipy", bigMs: peer });
    if (evidently) out({ engine, bench: "peer-evidently", bigMs: evidently });
    const ev = evidently
      ? `; Evidently (${BIG}) data drift preset ${evidently.presetMs.toFixed(0)} ms, ks+psi ${evidently.ksPsiMs.toFixed(0)} ms (ratio to the monitor's ${(evidently.presetMs / median(big)).toFixed(1)}× / ${(evidently.ksPsiMs / median(big)).toFixed(1)}×)`
      : "";
    summary.push(
      `${engine}: ingest ${Math.round(ingestRate)} records/s; evaluate median ${median(small).toFixed(0)} ms (${SMALL} records) vs ${median(big).toFixed(0)} ms (${BIG}): ratio ${(median(big) / median(small)).toFixed(2)} (spread ${Math.min(...big).toFixed(0)}–${Math.max(...big).toFixed(0)} ms); SciPy on raw arrays (${BIG}, drift only) ${peer.toFixed(0)} ms${ev}; RSS ${Math.round(rss0 / 1e6)} → ${Math.round(rss1 / 1e6)} MB`,
    );
  } finally {
    await close();
  }
}
console.log(`\n${summary.join("\n")}`);
