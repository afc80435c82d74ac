/**
 * Sidecar benchmarks, all in one run, each against a baseline measured in the same run:
 *   1. p50 latency, binary-tensor infer vs in-process session.run, batch 1 (goal ≤ 1.10×)
 *   2. p50 latency, JSON infer vs in-process session.run, batch 1 (goal ≤ 2.0×)
 *   3. throughput, 16 concurrent clients + dynamic batching vs best in-process over batch 1/4/8 (goal ≥ 0.9×)
 *   4. DICOM → tensor preprocessing, CT 512×512 → 224×224 (goal ≥ 300 slices/s on one core)
 * Model: ResNet-18-shaped (1×3×224×224, random weights), generated into bench/.out/ (not committed).
 * The sidecar runs as its own process (`medmlops sidecar`), as in a pod; clients send pre-encoded bodies over
 * keep-alive HTTP on loopback. Bounded: about two minutes.
 *
 *   npx tsx bench/sidecar.bench.ts [--quick]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { buildMultipart } from "../inference-sidecar/dicom/multipart.ts";
import { loadCodecs } from "../inference-sidecar/dicom/pixels.ts";
import { dicomRequestToTensor, pickDicomInput } from "../inference-sidecar/dicom/request.ts";
import { encodeBinaryRequest } from "../inference-sidecar/protocol.ts";
import { Signature } from "../inference-sidecar/signature.ts";
import { ctPhantom, writeDicom } from "../inference-sidecar/testing/dicom.ts";
import { writeModel } from "../inference-sidecar/testing/models.ts";

const QUICK = process.argv.includes("--quick");
const OUT = join(import.meta.dirname, ".out");
const ROOT = join(import.meta.dirname, "..");
const LAT_RUNS = QUICK ? 20 : 60;
const THROUGHPUT_MS = QUICK ? 3000 : 8000;
const CLIENTS = 16;

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const fmt = (x: number, d = 2) => x.toFixed(d);

function input(batch: number): Float32Array {
  const x = new Float32Array(batch * 3 * 224 * 224);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return x;
}

async function inProcess(modelPath: string) {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: "all" });
  const feed = (b: number) => ({ input: new ort.Tensor("float32", input(b), [b, 3, 224, 224]) });
  const one = feed(1);
  for (let i = 0; i < 5; i++) await session.run(one);
  const lat: number[] = [];
  for (let i = 0; i < LAT_RUNS; i++) {
    const t = performance.now();
    await session.run(one);
    lat.push(performance.now() - t);
  }
  const throughput: Record<number, number> = {};
  for (const b of [1, 4, 8]) {
    const f = feed(b);
    await session.run(f);
    let images = 0;
    const start = performance.now();
    while (performance.now() - start < THROUGHPUT_MS / 2) {
      await session.run(f);
      images += b;
    }
    throughput[b] = images / ((performance.now() - start) / 1000);
  }
  await session.release();
  return { p50: p50(lat), throughput };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startSidecar(modelPath: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin", "medmlops.js"),
      "sidecar",
      "--model",
      modelPath,
      "--name",
      "resnet18",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--max-batch-size",
      "8",
      "--max-queue-delay-ms",
      "0",
      "--log-level",
      "warn",
    ],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, MEDMLOPS_CASE_ID_KEY: "benchmark-case-id-key" },
    },
  );
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
      if (r.status === 200) return child;
    } catch {}
    if (child.exitCode !== null || Date.now() > end) throw new Error("sidecar did not become ready");
    await new Promise((r) => setTimeout(r, 200));
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(port: number, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v2/models/resnet18/infer",
        agent,
        headers: { ...headers, "content-length": String(body.length) },
      },
      (res) => {
        let n = 0;
        res.on("data", (d: Buffer) => {
          n += d.length;
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function latency(port: number, body: Buffer, headers: Record<string, string>): Promise<number> {
  for (let i = 0; i < 5; i++) await post(port, body, headers);
  const lat: number[] = [];
  for (let i = 0; i < LAT_RUNS; i++) {
    const t = performance.now();
    await post(port, body, headers);
    lat.push(performance.now() - t);
  }
  return p50(lat);
}

async function concurrentThroughput(
  port: number,
  body: Buffer,
  headers: Record<string, string>,
): Promise<number> {
  // warm the batcher and sockets
  await Promise.all(Array.from({ length: CLIENTS }, () => post(port, body, headers)));
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() - start < THROUGHPUT_MS) {
        await post(port, body, headers);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function dicomPreprocessing(): Promise<{ slicesPerSecond: number; rleSlicesPerSecond: number }> {
  await loadCodecs();
  const sig = Signature.parse({
    inputs: [
      {
        name: "input",
        datatype: "FP32",
        shape: [-1, 3, 224, 224],
        dicom: {
          window: { center: 40, width: 400 },
          channels: 3,
          normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        },
      },
    ],
    outputs: [{ name: "output", datatype: "FP32", shape: [-1, 1000] }],
  });
  const spec = pickDicomInput(sig);
  const measure = async (ts: string) => {
    const slices = Array.from({ length: 8 }, (_, i) =>
      writeDicom({ rows: 512, columns: 512, pixels: ctPhantom(512, 512, i + 1), transferSyntax: ts }),
    );
    const bodies = slices.map((s) => Buffer.from(s));
    for (const b of bodies) await dicomRequestToTensor(b, "application/dicom", spec);
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < (QUICK ? 1000 : 3000)) {
      await dicomRequestToTensor(bodies[n % bodies.length] as Buffer, "application/dicom", spec);
      n++;
    }
    return n / ((performance.now() - start) / 1000);
  };
  // A multipart series of 8 goes through the same path; check it works before measuring single slices.
  const mp = buildMultipart(
    Array.from({ length: 8 }, (_, i) =>
      writeDicom({
        rows: 512,
        columns: 512,
        pixels: ctPhantom(512, 512, i),
        transferSyntax: "1.2.840.10008.1.2.1",
      }),
    ),
  );
  const series = await dicomRequestToTensor(mp.body, mp.contentType, spec);
  if (series.tensor.shape.join("x") !== "8x3x224x224")
    throw new Error(`unexpected series tensor ${series.tensor.shape}`);
  return {
    slicesPerSecond: await measure("1.2.840.10008.1.2.1"),
    rleSlicesPerSecond: await measure("1.2.840.10008.1.2.5"),
  };
}

async function main(): Promise<void> {
  const began = performance.now();
  mkdirSync(OUT, { recursive: true });
  const modelPath = writeModel(OUT, "resnet18");
  console.log(
    `model ${modelPath}; ${LAT_RUNS} latency runs, ${THROUGHPUT_MS} ms throughput windows${QUICK ? " (quick)" : ""}`,
  );

  const base = await inProcess(modelPath);
  console.log(
    `in-process: p50 ${fmt(base.p50)} ms; throughput b1 ${fmt(base.throughput[1] ?? 0, 1)}, b4 ${fmt(base.throughput[4] ?? 0, 1)}, b8 ${fmt(base.throughput[8] ?? 0, 1)} img/s`,
  );

  const port = await freePort();
  const child = await startSidecar(modelPath, port);
  let results: {
    inProcessP50Ms: number;
    binaryP50Ms: number;
    binaryRatio: number;
    jsonP50Ms: number;
    jsonRatio: number;
    inProcessB1: number;
    inProcessB4: number;
    inProcessB8: number;
    sidecarThroughput: number;
    throughputRatio: number;
    meanBatchSize: number;
  };
  try {
    const x = input(1);
    const bin = encodeBinaryRequest([{ name: "input", datatype: "FP32", shape: [1, 3, 224, 224], data: x }], {
      outputs: [{ name: "output", binary: true }],
    });
    const binHeaders = {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(bin.headerLength),
    };
    const json = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 3, 224, 224], data: Array.from(x) }],
      }),
    );
    const jsonHeaders = { "content-type": "application/json" };

    const binP50 = await latency(port, bin.body, binHeaders);
    const jsonP50 = await latency(port, json, jsonHeaders);
    const tput = await concurrentThroughput(port, bin.body, binHeaders);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const batchSum = Number(/medmlops_sidecar_batch_size_sum\{[^}]*\} ([\d.]+)/.exec(metrics)?.[1] ?? 0);
    const batchCount = Number(/medmlops_sidecar_batch_size_count\{[^}]*\} ([\d.]+)/.exec(metrics)?.[1] ?? 1);
    const bestInProcess = Math.max(...Object.values(base.throughput));
    results = {
      inProcessP50Ms: base.p50,
      binaryP50Ms: binP50,
      binaryRatio: binP50 / base.p50,
      jsonP50Ms: jsonP50,
      jsonRatio: jsonP50 / base.p50,
      inProcessB1: base.throughput[1] ?? 0,
      inProcessB4: base.throughput[4] ?? 0,
      inProcessB8: base.throughput[8] ?? 0,
      sidecarThroughput: tput,
      throughputRatio: tput / bestInProcess,
      meanBatchSize: batchSum / batchCount,
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    agent.destroy();
  }
  const dicom = await dicomPreprocessing();
  const r = {
    ...results,
    dicomSlicesPerSecond: dicom.slicesPerSecond,
    dicomRleSlicesPerSecond: dicom.rleSlicesPerSecond,
  };

  const row = (name: string, value: string, baseline: string, ratio: string, goal: string, ok: boolean) =>
    `| ${name} | ${value} | ${baseline} | ${ratio} | ${goal} | ${ok ? "met" : "NOT met"} |`;
  const table = [
    "| measure | sidecar | in-process baseline | ratio | goal | |",
    "| --- | --- | --- | --- | --- | --- |",
    row(
      "p50 latency, binary tensors, batch 1",
      `${fmt(r.binaryP50Ms)} ms`,
      `${fmt(r.inProcessP50Ms)} ms`,
      `${fmt(r.binaryRatio)}×`,
      "≤ 1.10×",
      r.binaryRatio <= 1.1,
    ),
    row(
      "p50 latency, JSON tensors, batch 1",
      `${fmt(r.jsonP50Ms)} ms`,
      `${fmt(r.inProcessP50Ms)} ms`,
      `${fmt(r.jsonRatio)}×`,
      "≤ 2.0×",
      r.jsonRatio <= 2.0,
    ),
    row(
      `throughput, ${CLIENTS} clients, dynamic batching (max 8)`,
      `${fmt(r.sidecarThroughput, 1)} img/s`,
      `best of b1 ${fmt(r.inProcessB1, 1)} / b4 ${fmt(r.inProcessB4, 1)} / b8 ${fmt(r.inProcessB8, 1)} img/s`,
      `${fmt(r.throughputRatio)}×`,
      "≥ 0.9×",
      r.throughputRatio >= 0.9,
    ),
    row(
      "DICOM → tensor, CT 512² → 3×224², native LE",
      `${fmt(r.dicomSlicesPerSecond, 0)} slices/s`,
      "—",
      "—",
      "≥ 300 slices/s",
      r.dicomSlicesPerSecond >= 300,
    ),
    row(
      "DICOM → tensor, same, RLE",
      `${fmt(r.dicomRleSlicesPerSecond, 0)} slices/s`,
      "—",
      "—",
      "(info)",
      true,
    ),
  ].join("\n");
  const load = loadavg()
    .map((l) => fmt(l, 1))
    .join(" / ");
  const notes = `mean batch size over the whole sidecar run: ${fmt(r.meanBatchSize, 2)}; load average at the end (1/5/15 min): ${load} on ${cpus().length} cores`;
  console.log(`\n${table}\n\n${notes}\ntotal ${fmt((performance.now() - began) / 1000, 1)} s`);
  writeFileSync(join(OUT, "sidecar.json"), JSON.stringify({ at: new Date().toISOString(), ...r }, null, 2));
  writeFileSync(join(OUT, "sidecar.md"), `${table}\n\n${notes}\n`);
}

await main();
