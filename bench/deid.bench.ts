/**
 * De-identification throughput against a floor measured in the same run:
 *   floor — dcmjs: DicomMessage.readFile + anonymizer.cleanTags (its top-level blanking list) + dict.write(),
 *           i.e. the naive read-modify-write a new user would write (and which does far less than we do);
 *   ours  — deid.deidentify(): full PS3.15 Basic profile, sequences, UID remapping, re-read and leak scan.
 * Both run in memory on the same CT (512×512, 16-bit) and MR (256×256, 16-bit) instances, one core.
 * Scaling: the same in-memory work on 1 and 2 worker threads (CPU-bound, start-up excluded), and the CLI batch
 * path (disk → disk, start-up included) with --jobs 1 and --jobs 2.
 *
 *   npx tsx bench/deid.bench.ts [--files 40] [--batch-files 400] [--seconds 4]
 *
 * Goal: ours ≥ 0.8× the floor's files/s on one core; --jobs 2 faster than --jobs 1 on 2 cores.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { runBatch } from "../deid/batch.ts";
import { deidentify } from "../deid/index.ts";
import { baseSpecs, buildFile, type Spec, TEST_KEY, us } from "../deid/testing/build.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "40" },
    "batch-files": { type: "string", default: "400" },
    seconds: { type: "string", default: "4" },
  },
});
const FILES = Number(values.files);
const BATCH_FILES = Number(values["batch-files"]);
const SECONDS = Number(values.seconds);
const OUT = join(import.meta.dirname, ".out", "deid");

interface Dcmjs {
  data: {
    DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, unknown>; write(): ArrayBuffer } };
  };
  anonymizer: { cleanTags(dict: Record<string, unknown>): void };
}
const dcmjs = createRequire(import.meta.url)("dcmjs") as Dcmjs;

/** A realistic instance: the usual identifying header, a referenced-image sequence, private block, pixels. */
function instance(kind: "CT" | "MR", i: number): Uint8Array {
  const size = kind === "CT" ? 512 : 256;
  const pixels = new Uint8Array(size * size * 2);
  for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 31 + i) & 0xff;
  const sop = `1.2.826.0.1.3680043.2.1125.${kind === "CT" ? 1 : 2}.${i + 1000}`;
  const specs: Spec[] = baseSpecs({ sop, modality: kind, patientId: `MRN${100000 + (i % 17)}` }).map(
    (s): Spec => {
      if (s[0] === 0x00280010 || s[0] === 0x00280011) return [s[0], "US", us(size)];
      if (s[0] === 0x7fe00010) return [s[0], "OW", pixels];
      return s;
    },
  );
  specs.push(
    [
      0x00081140,
      "SQ",
      [
        [
          [0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"],
          [0x00081155, "UI", `${sop}.9`],
        ],
      ],
    ],
    [0x00180050, "DS", "1.25"],
    [0x00200032, "DS", "-125\\-125\\-30"],
    [0x00200037, "DS", "1\\0\\0\\0\\1\\0"],
    [0x00281050, "DS", "40"],
    [0x00281051, "DS", "400"],
    [0x00290010, "LO", "ACME PRIVATE"],
    [0x00291010, "OB", new Uint8Array(2048).fill(3)],
  );
  return buildFile(specs);
}

function rate(fn: (b: Uint8Array) => void, corpus: Uint8Array[]): { filesPerSec: number; mbPerSec: number } {
  for (let i = 0; i < Math.min(20, corpus.length); i++) fn(corpus[i] as Uint8Array); // warm-up
  let n = 0;
  let bytes = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    const b = corpus[n % corpus.length] as Uint8Array;
    fn(b);
    n++;
    bytes += b.length;
  }
  const s = (performance.now() - start) / 1000;
  return { filesPerSec: n / s, mbPerSec: bytes / s / 1e6 };
}

function floor(b: Uint8Array): void {
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab);
  dcmjs.anonymizer.cleanTags(msg.dict);
  msg.write();
}

function ours(b: Uint8Array): void {
  const r = deidentify(b, { key: TEST_KEY });
  if (!r.ok) throw new Error(`bench input quarantined: ${r.code}`);
}

const fmt = (x: number) => x.toFixed(1);
const results: Record<string, unknown> = {
  cores: availableParallelism(),
  files: FILES,
  batchFiles: BATCH_FILES,
  seconds: SECONDS,
};

for (const kind of ["CT", "MR"] as const) {
  const corpus = Array.from({ length: FILES }, (_, i) => instance(kind, i));
  const f = rate(floor, corpus);
  const o = rate(ours, corpus);
  const ratio = o.filesPerSec / f.filesPerSec;
  results[kind] = { floor: f, ours: o, ratio };
  console.log(
    `${kind} (${((corpus[0]?.length ?? 0) / 1024) | 0} KiB): dcmjs floor ${fmt(f.filesPerSec)} files/s ${fmt(f.mbPerSec)} MB/s · ` +
      `deid ${fmt(o.filesPerSec)} files/s ${fmt(o.mbPerSec)} MB/s · ratio ${ratio.toFixed(2)}× (goal ≥ 0.80)`,
  );
}

/** Files/s of N worker threads de-identifying in memory at once (each started and warmed before timing). */
async function parallelRate(jobs: number, corpus: Uint8Array[]): Promise<number> {
  const workers = Array.from(
    { length: jobs },
    () =>
      new Worker(new URL("./deid-worker.mjs", import.meta.url), { workerData: { corpus, seconds: SECONDS } }),
  );
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
    const done = workers.map(
      (w) =>
        new Promise<{ n: number; seconds: number }>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    for (const w of workers) w.postMessage("go");
    const results = await Promise.all(done);
    return results.reduce((sum, r) => sum + r.n / r.seconds, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const mixed = [
  ...Array.from({ length: 10 }, (_, i) => instance("CT", i)),
  ...Array.from({ length: 10 }, (_, i) => instance("MR", i)),
];
const p1 = await parallelRate(1, mixed);
const p2 = await parallelRate(2, mixed);
results.threads = { one: p1, two: p2, scaling: p2 / p1 };
console.log(
  `in-memory, CT+MR: 1 thread ${fmt(p1)} files/s · 2 threads ${fmt(p2)} files/s · scaling ${(p2 / p1).toFixed(2)}×`,
);

// CLI batch path, disk to disk, --jobs 1 vs --jobs 2.
await rm(OUT, { recursive: true, force: true });
const input = join(OUT, "in");
await mkdir(input, { recursive: true });
for (let i = 0; i < BATCH_FILES; i++) {
  await writeFile(join(input, `ct-${i}.dcm`), instance("CT", i));
  await writeFile(join(input, `mr-${i}.dcm`), instance("MR", i));
}
const batch: Record<number, number> = {};
for (const jobs of [1, 2]) {
  const start = performance.now();
  const report = await runBatch({
    input,
    outputDir: join(OUT, `out-${jobs}`),
    key: TEST_KEY,
    options: [],
    pixelMasks: [],
    jobs,
    layout: "pseudonymous",
    timeoutMs: 300_000,
    maxFileBytes: 1 << 30,
  });
  const s = (performance.now() - start) / 1000;
  if (report.summary.quarantined > 0) throw new Error("bench inputs quarantined");
  batch[jobs] = report.summary.total / s;
  console.log(
    `batch --jobs ${jobs}: ${report.summary.total} files in ${s.toFixed(2)} s = ${fmt(batch[jobs] ?? 0)} files/s`,
  );
}
const scaling = (batch[2] ?? 0) / (batch[1] ?? 1);
results.batch = { jobs1: batch[1], jobs2: batch[2], scaling };
console.log(`scaling --jobs 2 / --jobs 1: ${scaling.toFixed(2)}×`);
console.log(JSON.stringify(results));
await rm(OUT, { recursive: true, force: true });
