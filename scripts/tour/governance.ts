/**
 * The governance loop of `npm start` (issues 13 and 14), on the local control plane with real processes:
 *
 *  1. a real monitor (PGlite in a fresh directory) that the operator is started against (`--monitor-url`);
 *  2. a MedModel `demo-ct` (v2 serving, v1 its fallback) and a ValidationPolicy watching it;
 *  3. records through the monitor's API: v2's first 20 become its reference, then a shifted input distribution
 *     → DriftDetected and a Warning Event;
 *  4. reader annotations below the sensitivity floor → Breached → the MedModel fails over to v1 (reason
 *     ValidationBreach) — the Event, the condition and, when Debian's Prometheus is installed, the chart's own
 *     alerting rules evaluated by a real Prometheus scraping the operator and the monitor;
 *  5. the policy's Retrain action: one RetrainJob is created; the operator's RetrainJob controller freezes its
 *     dataset (consent applied) and starts its training Job, which waits there (kwok runs no containers);
 *  6. a second RetrainJob played through every phase to Succeeded, the tour running its Jobs' pods as local
 *     processes (scripts/tour/retraining.ts);
 *  7. the audit trail: `medmlops audit verify` and the last lines of `medmlops audit export`.
 *
 * Records come from the monitor's API rather than a sidecar so the distributions are exact and the tour quick;
 * monitor/e2e.test.ts shows real sidecars posting them. Everything stays in namespace `governance-tour`.
 */
import { createHash } from "node:crypto";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { MonitorClient, type MonitorRecord } from "../../monitor/client.ts";
import { kubectl, kubectlOk, waitFor } from "../../test/cluster/client.ts";
import { repoRoot } from "../../test/cluster/paths.ts";
import { retrainingTour } from "./retraining.ts";

export const GOVERNANCE_NAMESPACE = "governance-tour";
const MODEL = "demo-ct";
const POLICY = "demo-ct-policy";
const FIRST_RECORDS = 20;
const run = promisify(execFile);

export interface GovernanceIO {
  say(line: string): void;
  out(text: string): void;
}

export interface TourMonitor {
  url: string;
  /** Its metrics port (GET /metrics only; the API port serves none). */
  metricsUrl: string;
  /** Flags for `medmlops operator`: the monitor and a short reference freeze (20 records instead of 500). */
  operatorArgs: string[];
  process: ChildProcess;
}

const bin = join(repoRoot, "bin", "medmlops.js");

async function ok(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** Starts `medmlops monitor` on loopback with a fresh PGlite directory (each tour starts an empty log). */
export async function startTourMonitor(
  io: GovernanceIO,
  demoDir: string,
  port: number,
  metricsPort: number,
): Promise<TourMonitor> {
  const dataDir = join(demoDir, "monitor-data");
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });
  io.say(
    `starting the monitor on :${port}, metrics on :${metricsPort} (PGlite in .medmlops/demo/monitor-data; log: .medmlops/demo/monitor.log)`,
  );
  const log = openSync(join(demoDir, "monitor.log"), "a");
  const child = spawn(
    process.execPath,
    [
      ...[bin, "monitor", "--port", String(port), "--metrics-port", String(metricsPort)],
      ...["--host", "127.0.0.1", "--data-dir", dataDir],
    ],
    { stdio: ["ignore", log, log] },
  );
  const url = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  await waitFor(() => ok(`${url}/healthz`), 120_000, 500);
  return {
    url,
    metricsUrl,
    process: child,
    operatorArgs: [
      "--monitor-url",
      url,
      "--reference-first-records",
      String(FIRST_RECORDS),
      "--retrain-jobs",
      "true",
    ],
  };
}

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectlOk(args)) as T;
type Cond = { type: string; status: string; reason?: string; message?: string };
type Obj = { status?: Record<string, unknown> & { conditions?: Cond[] } };
const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);
const get = (kind: string, name: string) =>
  json<Obj>(["-n", GOVERNANCE_NAMESPACE, "get", kind, name, "-o", "json"]).catch(() => undefined);

function model(): object {
  const version = (name: string, digit: string) => ({
    name,
    source: { uri: `https://models.hospital.example/demo-ct/${name}.onnx`, sha256: digit.repeat(64) },
  });
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "MedModel",
    metadata: { name: MODEL, namespace: GOVERNANCE_NAMESPACE },
    spec: {
      modelCard: {
        intendedUse: "Demonstration of the governance loop; not for clinical use.",
        task: "classification",
        modalities: ["CT"],
        validUntil: "2030-12-31",
        owner: "radiology-ai@hospital.example",
      },
      signature: {
        inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 64, 64] }],
        outputs: [{ name: "scores", datatype: "FP32", shape: [-1, 2], labels: ["normal", "finding"] }],
      },
      versions: [version("v1", "1"), version("v2", "2")],
      activeVersion: "v2",
      serving: { replicas: 1 },
      rollout: { strategy: "Immediate", requireValidation: false },
      failover: { fallbackVersion: "v1" },
    },
  };
}

function policy(): object {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { name: POLICY, namespace: GOVERNANCE_NAMESPACE },
    spec: {
      modelRef: { name: MODEL },
      sampling: { rate: 1 },
      metrics: [{ name: "sensitivity", min: 0.8, minSamples: 20 }],
      drift: { checks: [{ source: "input", feature: "image:mean", test: "psi", threshold: 0.2 }] },
      schedule: { interval: "3s" },
      actions: {
        onDrift: ["Alert"],
        onBreach: ["Alert", "Failover", "Retrain"],
        retrainTemplate: {
          dataset: { annotatedOnly: true, purpose: "SYSDEV" },
          trainer: {
            image: "registry.hospital.example/radiology/demo-ct-trainer:1.0",
            timeout: "30m",
          },
        },
      },
      changeControl: { allowedModifications: ["Retraining"] },
    },
  };
}

function records(from: number, n: number, shift: number, positives = 0): MonitorRecord[] {
  const time = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => {
    const positive = i < positives;
    const score = positive ? 0.9 : 0.1;
    return {
      time,
      namespace: GOVERNANCE_NAMESPACE,
      model: MODEL,
      version: "v2",
      caseId: `tour-${from + i}`,
      // a pseudonymous patient per case (what the sidecar sends when it de-identifies); the RetrainJob's
      // sequestered test split is drawn by patient, and its dataset keeps only the model card's modalities
      patient: `pn:${createHash("sha256")
        .update(`tour-patient-${from + i}`)
        .digest("hex")}`,
      metadata: { Modality: "CT" },
      inputs: { "image:mean": shift + ((i * 37) % 100) / 500 },
      outputs: { "score:finding": score },
      decision: { label: "finding", score, positive },
    };
  });
}

async function eventsOf(kind: string, name: string, reason: string): Promise<string[]> {
  const out = await json<{
    items: { reason?: string; note?: string; type?: string; regarding?: { kind?: string; name?: string } }[];
  }>(["-n", GOVERNANCE_NAMESPACE, "get", "events.v1.events.k8s.io", "-o", "json"]);
  return out.items
    .filter((e) => e.regarding?.kind === kind && e.regarding?.name === name && e.reason === reason)
    .map((e) => `${e.type} ${e.reason}: ${e.note ?? ""}`);
}

/** The chart's alerting rules on a real Prometheus scraping the operator and the monitor; false when absent. */
async function showAlerts(
  io: GovernanceIO,
  demoDir: string,
  targets: string[],
  port: number,
): Promise<boolean> {
  const prom = process.env["MEDMLOPS_PROMETHEUS"] ?? "/usr/bin/prometheus";
  const { existsSync } = await import("node:fs");
  if (!existsSync(prom)) {
    io.say(
      `Prometheus is not installed here (\`apt-get install prometheus\`, as .ci/setup.d/40-prometheus.sh does): the alerts are the conditions and Events above`,
    );
    return false;
  }
  const dir = join(demoDir, "prometheus");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rules = join(repoRoot, "charts", "medmlops", "files", "prometheus", "rules.yaml");
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [rules],
      scrape_configs: [{ job_name: "medmlops", honor_labels: true, static_configs: [{ targets }] }],
    }),
  );
  io.say(
    `a real Prometheus on :${port} with the chart's alerting rules (charts/medmlops/files/prometheus/rules.yaml)`,
  );
  const log = openSync(join(demoDir, "prometheus.log"), "a");
  const child = spawn(
    prom,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", log, log] },
  );
  try {
    type Alert = { labels: Record<string, string>; state: string };
    const wanted = ["MedModelDriftDetected", "MedModelPerformanceBreach", "MedModelFailedOver"];
    const alerts = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`).catch(() => undefined);
        if (!res?.ok) return undefined;
        const body = (await res.json()) as { data: { alerts: Alert[] } };
        const firing = body.data.alerts.filter(
          (a) => a.state === "firing" && a.labels["namespace"] === GOVERNANCE_NAMESPACE,
        );
        return wanted.every((w) => firing.some((a) => a.labels["alertname"] === w)) ? firing : undefined;
      },
      60_000,
      1000,
    );
    for (const a of alerts) {
      const { alertname, severity, ...rest } = a.labels;
      io.out(`   FIRING ${alertname} (${severity ?? "-"}) ${JSON.stringify(rest)}\n`);
    }
    return true;
  } finally {
    child.kill("SIGTERM");
  }
}

export interface GovernanceOptions {
  monitor: TourMonitor;
  demoDir: string;
  operatorMetricsPort: number;
  prometheusPort: number;
}

export async function governanceTour(io: GovernanceIO, opts: GovernanceOptions): Promise<void> {
  const client = new MonitorClient(opts.monitor.url);
  io.say(
    `the governance loop in namespace ${GOVERNANCE_NAMESPACE}: MedModel ${MODEL} (v2 serving, v1 its fallback) and ValidationPolicy ${POLICY}`,
  );
  if ((await kubectl(["get", "namespace", GOVERNANCE_NAMESPACE])).code === 0) {
    // A fresh start: the monitor is empty too, and the policy's episodes must not carry over.
    await kubectlOk(["delete", "namespace", GOVERNANCE_NAMESPACE, "--wait=true", "--timeout=120s"]);
  }
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: GOVERNANCE_NAMESPACE } }),
  );
  await kubectlOk(["apply", "-f", "-"], JSON.stringify(model()));
  await waitFor(async () => cond(await get("medmodel", MODEL), "Ready")?.status === "True", 60_000, 500);
  await kubectlOk(["apply", "-f", "-"], JSON.stringify(policy()));
  await waitFor(async () => cond(await get("validationpolicy", POLICY), "Ready") !== undefined, 60_000, 500);

  io.say(`v2 serves ${FIRST_RECORDS} cases: the operator freezes them as v2's reference profile`);
  await client.postRecords(records(0, FIRST_RECORDS, 0.4));
  const frozen = await waitFor(
    async () => {
      const p = await get("validationpolicy", POLICY);
      return cond(p, "Ready")?.message?.includes("frozen from its first") ? p : undefined;
    },
    60_000,
    500,
  );
  io.out(`   Ready: ${cond(frozen, "Ready")?.message}\n`);

  io.say("then 200 cases whose image intensities have shifted (a new scanner protocol, say)");
  await client.postRecords(records(100, 200, 1.5, 10));
  const drifted = await waitFor(
    async () => {
      const p = await get("validationpolicy", POLICY);
      return cond(p, "DriftDetected")?.status === "True" ? p : undefined;
    },
    60_000,
    500,
  );
  const drift =
    (drifted.status?.["drift"] as {
      version?: string;
      feature: string;
      test: string;
      statistic: number;
      drifted: boolean;
    }[]) ?? [];
  for (const d of drift.filter((x) => x.drifted))
    io.out(`   drift: ${d.version} ${d.feature} ${d.test} = ${d.statistic.toFixed(2)}\n`);
  for (const e of await waitFor(
    () => eventsOf("ValidationPolicy", POLICY, "DriftDetected").then((x) => x.length > 0 && x),
    30_000,
    500,
  ))
    io.out(`   event: ${e}\n`);

  io.say("radiologists annotate 40 of them: all positive, v2 called 10 — sensitivity 0.25, floor 0.8");
  await client.postAnnotations(
    Array.from({ length: 40 }, (_, i) => ({
      namespace: GOVERNANCE_NAMESPACE,
      model: MODEL,
      caseId: `tour-${100 + i}`,
      positive: true,
      time: new Date().toISOString(),
      source: "reader" as const,
    })),
  );
  const breached = await waitFor(
    async () => {
      const p = await get("validationpolicy", POLICY);
      return cond(p, "Breached")?.status === "True" ? p : undefined;
    },
    60_000,
    500,
  );
  io.out(`   Breached: ${cond(breached, "Breached")?.message}\n`);
  const failed = await waitFor(
    async () => {
      const m = await get("medmodel", MODEL);
      return m?.status?.["activeVersion"] === "v1" ? m : undefined;
    },
    60_000,
    500,
  );
  io.out(
    `   MedModel ${MODEL}: now serving ${failed.status?.["activeVersion"]}; status.failover = ${JSON.stringify(failed.status?.["failover"])}\n`,
  );
  io.out(`   FailedOver: ${cond(failed, "FailedOver")?.message}\n`);
  for (const r of ["PerformanceBreach"])
    for (const e of await eventsOf("ValidationPolicy", POLICY, r)) io.out(`   event: ${e}\n`);
  for (const e of await waitFor(
    () => eventsOf("MedModel", MODEL, "Failover").then((x) => x.length > 0 && x),
    30_000,
    500,
  ))
    io.out(`   event: ${e}\n`);

  const monitorHost = new URL(opts.monitor.metricsUrl).host;
  await showAlerts(
    io,
    opts.demoDir,
    [`127.0.0.1:${opts.operatorMetricsPort}`, monitorHost],
    opts.prometheusPort,
  );

  io.say("the policy's Retrain action: one RetrainJob for the episode (a candidate, never a silent swap)");
  type RJ = {
    metadata: { name: string };
    status?: {
      phase?: string;
      dataset?: { cases?: number; excludedByConsent?: number; manifestSha256?: string };
      conditions?: Cond[];
    };
  };
  const listJobs = async () =>
    (await json<{ items: RJ[] }>(["-n", GOVERNANCE_NAMESPACE, "get", "retrainjobs", "-o", "json"])).items;
  const created = await waitFor(async () => (await listJobs())[0], 30_000, 500);
  io.out(`   RetrainJob ${created.metadata.name} created for the episode\n`);
  // The RetrainJob controller (--retrain-jobs true) freezes the dataset through the monitor, then starts the
  // training Job. On kwok the Job's pod never runs a container, so the tour stops watching at Training.
  const phases: string[] = [];
  const job = await waitFor(
    async () => {
      const j = (await listJobs()).find((x) => x.metadata.name === created.metadata.name);
      const phase = j?.status?.phase;
      if (phase && phases.at(-1) !== phase) phases.push(phase);
      return phase && phase !== "Pending" && phase !== "PreparingData" ? j : undefined;
    },
    60_000,
    300,
  ).catch(() => undefined);
  io.out(`   phases seen: ${phases.join(" → ") || "none"}\n`);
  if (job?.status?.dataset) {
    const d = job.status.dataset;
    io.out(
      `   dataset frozen: ${d.cases ?? 0} cases, ${d.excludedByConsent ?? 0} excluded by consent, manifest sha256 ${(d.manifestSha256 ?? "").slice(0, 16)}…\n`,
    );
  }
  if (!job) {
    const last = (await listJobs()).find((x) => x.metadata.name === created.metadata.name);
    const ready = last?.status?.conditions?.find((c) => c.type === "Ready");
    io.out(
      `   (still ${last?.status?.phase ?? "unstarted"}: ${ready?.reason ?? "no condition"} — ${ready?.message ?? ""})\n`,
    );
  }
  io.out("   (its training Job waits: kwok runs no containers — the next step plays a run's pods through)\n");

  await retrainingTour(io, { monitor: client, namespace: GOVERNANCE_NAMESPACE, demoDir: opts.demoDir });

  io.say("the audit trail: medmlops audit verify, and the last lines of medmlops audit export");
  const verify = await run(process.execPath, [bin, "audit", "verify", "--monitor-url", opts.monitor.url]);
  io.out(`   ${verify.stdout.trim()}\n`);
  const exportFile = join(opts.demoDir, "audit.jsonl");
  await run(process.execPath, [
    bin,
    "audit",
    "export",
    "--monitor-url",
    opts.monitor.url,
    "--out",
    exportFile,
  ]);
  const { readFileSync } = await import("node:fs");
  const lines = readFileSync(exportFile, "utf8").trim().split("\n");
  for (const l of lines.slice(-8)) {
    const e = JSON.parse(l) as {
      seq: number;
      action: string;
      subject: { kind: string; name: string };
      actor: string;
      reason: string;
    };
    io.out(
      `   #${e.seq} ${e.action} ${e.subject.kind}/${e.subject.name} by ${e.actor}: ${e.reason.slice(0, 90)}\n`,
    );
  }
  io.out(`   … ${lines.length} entries in .medmlops/demo/audit.jsonl\n`);
}
