/**
 * `medmlops dataset materialize` and `medmlops evaluate` (docs/retraining.md): the two steps of a RetrainJob that
 * run in its Jobs' containers. Both write a one-line JSON result on stdout and, inside a pod, the same to the
 * termination log. Exit 0 done, 1 failed (the reason on stderr, no PHI), 2 usage.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EXIT } from "../common/exit-codes.ts";
import {
  type ClientTlsFiles,
  MONITOR_CLIENT_OPTIONS,
  MONITOR_CLIENT_USAGE,
  monitorClientTls,
} from "../common/tls/client.ts";
import { type DeidOptionName, DEID_OPTION_NAMES, loadKey } from "../deid/index.ts";
import { MonitorClient } from "../monitor/client.ts";
import type { EvaluationReport } from "../monitor/datasets/report.ts";
import { CaseLineSchema, DatasetFileSchema } from "./data-format.ts";
import { reportRows, scoreCases } from "./evaluate.ts";
import { materialize } from "./materialize.ts";

export const MATERIALIZE_USAGE = `usage: medmlops dataset materialize --monitor-url URL --dataset ID --split train|test --out DIR [options]
  --deid-option O       a PS3.15 option applied when de-identifying again (repeatable)
  --key-file F          the hospital's HMAC key (default: MEDMLOPS_DEID_KEY[_FILE] or the mounted Secret)
  --expect-sha256 H     refuse unless the manifest has this digest
an https:// monitor (the chart's default) and its client credentials:
${MONITOR_CLIENT_USAGE}`;

export const EVALUATE_USAGE = `usage: medmlops evaluate --data DIR --candidate MODEL --base MODEL [options]
  --data DIR            a materialized test split (dataset materialize --split test)
  --candidate, --base   ONNX models: input float32 [N, F] (the dataset's features, sorted), output [N] or [N,1] score
  --threshold T         decision threshold on the score (default 0.5)
  --confidence C        confidence level of the intervals (default 0.95)
  --per-site true|false report each site as well as all sites (default true)
  --out FILE            write the report here
  --monitor-url URL --dataset ID   and/or send it to the monitor (PUT /v1/datasets/ID/evaluation)
an https:// monitor (the chart's default) and its client credentials:
${MONITOR_CLIENT_USAGE}`;

const sha256Hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function leaveTermination(message: string): void {
  if (!existsSync("/dev/termination-log")) return;
  try {
    writeFileSync("/dev/termination-log", message.slice(0, 4000));
  } catch {
    // not in a pod
  }
}

function fail(prefix: string, e: unknown): number {
  const msg = `${prefix}: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  leaveTermination(JSON.stringify({ error: msg }));
  return EXIT.failure;
}

export async function materializeMain(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${MATERIALIZE_USAGE}\n`);
    return EXIT.ok;
  }
  let v: Record<string, string | string[] | undefined>;
  let tls: ClientTlsFiles | undefined;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        "monitor-url": { type: "string" },
        dataset: { type: "string" },
        split: { type: "string" },
        out: { type: "string" },
        "deid-option": { type: "string", multiple: true },
        "key-file": { type: "string" },
        "expect-sha256": { type: "string" },
        ...MONITOR_CLIENT_OPTIONS,
      },
      strict: true,
    }));
    for (const f of ["monitor-url", "dataset", "split", "out"])
      if (!v[f]) throw new Error(`--${f} is required`);
    if (v.split !== "train" && v.split !== "test") throw new Error("--split must be train or test");
    for (const o of (v["deid-option"] as string[] | undefined) ?? []) {
      if (!(DEID_OPTION_NAMES as readonly string[]).includes(o))
        throw new Error(`unknown --deid-option ${o}`);
    }
    tls = monitorClientTls(v, process.env);
  } catch (e) {
    process.stderr.write(`dataset materialize: ${(e as Error).message}\n${MATERIALIZE_USAGE}\n`);
    return EXIT.usage;
  }
  try {
    const key = loadKey(v["key-file"] ? { file: v["key-file"] as string } : {});
    const r = await materialize({
      monitorUrl: v["monitor-url"] as string,
      datasetId: v.dataset as string,
      split: v.split as "train" | "test",
      out: v.out as string,
      key,
      deidOptions: ((v["deid-option"] as string[] | undefined) ?? []) as DeidOptionName[],
      ...(v["expect-sha256"] ? { expectSha256: v["expect-sha256"] as string } : {}),
      ...(tls ? { tls } : {}),
    });
    process.stdout.write(`${JSON.stringify({ materialized: true, ...r })}\n`);
    return EXIT.ok;
  } catch (e) {
    return fail("dataset materialize", e);
  }
}

export async function datasetMain(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === "materialize") return materializeMain(rest);
  const help = verb === "--help" || verb === "-h";
  (help ? process.stdout : process.stderr).write(`${MATERIALIZE_USAGE}\n`);
  return help ? EXIT.ok : EXIT.usage;
}

export async function evaluateMain(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${EVALUATE_USAGE}\n`);
    return EXIT.ok;
  }
  let v: Record<string, string | undefined>;
  let tls: ClientTlsFiles | undefined;
  let threshold: number;
  let confidence: number;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        [
          "data",
          "candidate",
          "base",
          "threshold",
          "confidence",
          "per-site",
          "out",
          "monitor-url",
          "dataset",
          ...Object.keys(MONITOR_CLIENT_OPTIONS),
        ].map((n) => [n, { type: "string" as const }]),
      ),
      strict: true,
    }) as { values: Record<string, string | undefined> });
    for (const f of ["data", "candidate", "base"]) if (!v[f]) throw new Error(`--${f} is required`);
    if (!v.out && !(v["monitor-url"] && v.dataset))
      throw new Error("give --out or --monitor-url with --dataset");
    threshold = Number(v.threshold ?? 0.5);
    confidence = Number(v.confidence ?? 0.95);
    if (!Number.isFinite(threshold)) throw new Error("--threshold must be a number");
    if (!(confidence >= 0.5 && confidence <= 0.999)) throw new Error("--confidence must be in [0.5, 0.999]");
    tls = monitorClientTls(v, process.env);
    if (!v["monitor-url"] && Object.keys(MONITOR_CLIENT_OPTIONS).some((k) => v[k] !== undefined))
      throw new Error("--monitor-ca/--monitor-cert/--monitor-key/--monitor-token-file need --monitor-url");
  } catch (e) {
    process.stderr.write(`evaluate: ${(e as Error).message}\n${EVALUATE_USAGE}\n`);
    return EXIT.usage;
  }
  try {
    const dir = v.data as string;
    const meta = DatasetFileSchema.parse(JSON.parse(readFileSync(join(dir, "dataset.json"), "utf8")));
    const cases = readFileSync(join(dir, "cases.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => CaseLineSchema.parse(JSON.parse(l)));
    const candidateBytes = readFileSync(v.candidate as string);
    const baseBytes = readFileSync(v.base as string);
    const cand = await scoreCases(v.candidate as string, cases, meta.features);
    const base = await scoreCases(v.base as string, cases, meta.features);
    const report: EvaluationReport = {
      format: "medmlops.io/evaluation/v1",
      manifestSha256: meta.manifestSha256,
      candidateSha256: sha256Hex(candidateBytes),
      baseSha256: sha256Hex(baseBytes),
      confidence,
      rows: reportRows(cases, cand, base, { threshold, confidence, perSite: v["per-site"] !== "false" }),
    };
    if (v.out) writeFileSync(v.out, `${JSON.stringify(report, null, 2)}\n`);
    if (v["monitor-url"] && v.dataset)
      await new MonitorClient(v["monitor-url"], tls ? { tls } : {}).putEvaluation(v.dataset, report);
    const overall = report.rows.filter((r) => r.site === "*").map((r) => [r.metric, r.candidate.value]);
    const summary = JSON.stringify({
      evaluated: true,
      cases: cases.length,
      overall: Object.fromEntries(overall),
    });
    process.stdout.write(`${summary}\n`);
    leaveTermination(summary);
    return EXIT.ok;
  } catch (e) {
    return fail("evaluate", e);
  }
}
