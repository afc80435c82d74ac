// Operator benchmarks on the real control plane (test/cluster): run with
//   npx tsx bench/operator.bench.ts [--only latency,failover,scale] [--models 500] [--trials 20]
// Needs `npm run cluster:up` first. Prints JSON lines and a summary with ratios against baselines measured in
// the same run:
//   latency  — MedModel applied → all 6 children readable (p50/p99), vs a plain ConfigMap apply → readable.
//   failover — serving pods gone → stable Service on the fallback (p50/p99 over N trials), vs unavailableAfter.
//   scale    — N MedModels created while the operator is down, then `medmlops operator` started as a child
//              process: time until every model has status.observedGeneration and Ready, and the operator's peak
//              RSS, vs the same operator's RSS with no models.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Kinds, type KubeObject } from "../operator/runtime/index.ts";
import { MedModelKind } from "../operator/medmodel/index.ts";
import { freshNamespace, kubeconfigPath } from "../test/cluster/client.ts";
import { repoRoot } from "../test/cluster/paths.ts";
import {
  allowNewPods,
  blockNewPods,
  deletePodsOf,
  getModel,
  harness,
  installCrds,
  manifest,
  stableSelector,
  waitFor,
} from "../test/integration/medmodel-support.ts";

const { values } = parseArgs({
  options: {
    only: { type: "string", default: "latency,failover,scale" },
    models: { type: "string", default: "500" },
    trials: { type: "string", default: "20" },
    samples: { type: "string", default: "30" },
    // The operator's entry point for the cold start; a compiled copy outside the shared checkout (see
    // docs/benchmarks.md) measures the image's code without leaving a dist/ behind for others.
    "operator-entry": { type: "string", default: join(repoRoot, "bin", "medmlops.js") },
  },
});
const only = new Set(values.only?.split(","));
const MODELS = Number(values.models);
const TRIALS = Number(values.trials);
const SAMPLES = Number(values.samples);
const OPERATOR_ENTRY = values["operator-entry"]!;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}
const round = (x: number) => Math.round(x);
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function benchLatency(): Promise<void> {
  const ns = await freshNamespace("bench-latency");
  const h = harness(ns.name);
  await h.start();
  try {
    // Baseline: the API server's own apply → readable round trip for one small object.
    const base: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t = performance.now();
      await h.user.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `base-${i}`, namespace: ns.name },
        data: { a: "b" },
      });
      await waitFor(() => h.user.get(Kinds.ConfigMap, { namespace: ns.name, name: `base-${i}` }), 10_000, 5);
      base.push(performance.now() - t);
    }
    // Children are seen through watches (no polling load on the API server while we measure).
    const seen = new Map<string, number>();
    const stop = new AbortController();
    for (const plural of ["configmaps", "services"]) {
      void h.rest
        .stream(`/api/v1/namespaces/${ns.name}/${plural}`, {
          query: { watch: true, labelSelector: "medmlops.io/model" },
          signal: stop.signal,
          onLine: (line) => record(line),
        })
        .catch(() => {});
    }
    void h.rest
      .stream(`/apis/apps/v1/namespaces/${ns.name}/deployments`, {
        query: { watch: true, labelSelector: "medmlops.io/model" },
        signal: stop.signal,
        onLine: (line) => record(line),
      })
      .catch(() => {});
    function record(line: string) {
      try {
        const ev = JSON.parse(line) as { type: string; object: KubeObject };
        const id = `${ev.object.kind}/${ev.object.metadata?.name}`;
        if (ev.type === "ADDED" && !seen.has(id)) seen.set(id, performance.now());
      } catch {
        // partial line: ignore
      }
    }
    await sleep(500);
    const lat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const name = `lat-${i}`;
      const ids = [
        `ConfigMap/${name}-signature`,
        `Deployment/${name}-v1`,
        `Deployment/${name}-v2`,
        `Service/${name}-v1`,
        `Service/${name}-v2`,
        `Service/${name}`,
      ];
      const t = performance.now();
      await h.user.apply(
        manifest(name, ns.name, {
          activeVersion: "v1",
          rollout: { strategy: "BlueGreen", requireValidation: false },
        }),
      );
      await waitFor(() => ids.every((id) => seen.has(id)), 30_000, 5);
      lat.push(Math.max(...ids.map((id) => seen.get(id)!)) - t);
      // Let the previous model's pods settle (scheduler, kwok, status writes share the same 2 cores).
      await sleep(1500);
    }
    stop.abort();
    const r = {
      bench: "reconcile-latency",
      samples: SAMPLES,
      p50_ms: round(pct(lat, 50)),
      p99_ms: round(pct(lat, 99)),
      baseline_configmap_p50_ms: round(pct(base, 50)),
      ratio_p50_vs_baseline: +(pct(lat, 50) / pct(base, 50)).toFixed(1),
      goal: "p50 <= 500 ms",
    };
    out(r);
  } finally {
    await h.stop();
    await ns.delete();
  }
}

async function benchFailover(): Promise<void> {
  const ns = await freshNamespace("bench-failover");
  const h = harness(ns.name);
  await h.start();
  const unavailableAfterMs = 1000;
  try {
    const spec = (active: string) => ({
      activeVersion: active,
      rollout: { strategy: "BlueGreen", requireValidation: false },
      failover: { unavailableAfter: `${unavailableAfterMs}ms` },
    });
    await h.user.apply(manifest("fo", ns.name, spec("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "fo"))?.status?.lastKnownGoodVersion === "v1",
      60_000,
    );
    await h.user.apply(manifest("fo", ns.name, spec("v2")));
    await waitFor(
      async () => (await stableSelector(h, ns.name, "fo"))?.["medmlops.io/version"] === "v2",
      60_000,
    );
    const times: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      // v1 (the last known good) must be warm before each trial.
      await waitFor(async () => {
        const m = await getModel(h, ns.name, "fo");
        const v = (n: string) => m?.status?.versions?.find((x) => x.name === n)?.readyReplicas ?? 0;
        return m?.status?.activeVersion === "v2" && v("v1") >= 1 && v("v2") >= 1;
      }, 60_000);
      await blockNewPods(h, ns.name);
      const t = performance.now();
      await deletePodsOf(h, ns.name, "fo", "v2");
      await waitFor(
        async () => (await stableSelector(h, ns.name, "fo"))?.["medmlops.io/version"] === "v1",
        30_000,
        20,
      );
      times.push(performance.now() - t);
      await allowNewPods(h, ns.name);
      await h.user.mergePatch(
        MedModelKind,
        { namespace: ns.name, name: "fo" },
        {
          metadata: { annotations: { "medmlops.io/retry-version": "v2" } },
        },
      );
      await waitFor(
        async () => (await stableSelector(h, ns.name, "fo"))?.["medmlops.io/version"] === "v2",
        60_000,
        50,
      );
      out({ bench: "failover-trial", trial: i + 1, ms: round(times[i]!) });
    }
    out({
      bench: "failover",
      trials: TRIALS,
      p50_ms: round(pct(times, 50)),
      p99_ms: round(pct(times, 99)),
      unavailableAfter_ms: unavailableAfterMs,
      reaction_p50_ms: round(pct(times, 50) - unavailableAfterMs),
      reaction_p99_ms: round(pct(times, 99) - unavailableAfterMs),
      ratio_p99_vs_unavailableAfter: +(pct(times, 99) / unavailableAfterMs).toFixed(2),
      goal: "p99 <= 5000 ms",
    });
  } finally {
    await h.stop();
    await ns.delete();
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The operator as a user runs it: `node bin/medmlops.js operator`, one process (its RSS is what we measure). */
function startOperator(namespace: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      OPERATOR_ENTRY,
      "operator",
      "--kubeconfig",
      kubeconfigPath(),
      "--namespace",
      namespace,
      "--metrics-port",
      "0",
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
}

async function stopOperator(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await Promise.race([done, sleep(15_000)]);
  if (p.exitCode === null) p.kill("SIGKILL");
}

type ModelStatus = { observedGeneration?: number; conditions?: { type: string; status: string }[] };

async function benchScale(): Promise<void> {
  const ns = await freshNamespace("bench-scale");
  const h = harness(ns.name);
  try {
    // Baseline: the idle operator's RSS (same binary, same namespace, no models), after 5 s.
    const idle = startOperator(ns.name);
    await sleep(5000);
    const idleRss = rssMb(idle.pid!);
    await stopOperator(idle);

    const t0 = performance.now();
    const names = Array.from({ length: MODELS }, (_, i) => `m${i}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map((n) =>
          h.user.apply(
            manifest(n, ns.name, {
              activeVersion: "v1",
              rollout: { strategy: "BlueGreen", requireValidation: false },
            }),
          ),
        ),
      );
    }
    const createMs = performance.now() - t0;

    const op = startOperator(ns.name);
    const start = performance.now();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(op.pid!));
    }, 250);
    // Progress is followed through a watch on the MedModels (the synthetic ADDED events of its start, then
    // every status write), not by listing all of them every second: a list of 500 models took 0.7-0.95 s of
    // the API server's time under this load, time the operator's own calls then waited for.
    let statusMs = Number.NaN;
    let readyMs = Number.NaN;
    const observed = new Set<string>();
    const ready = new Set<string>();
    const stop = new AbortController();
    let allReady: () => void = () => {};
    const done = new Promise<void>((r) => {
      allReady = r;
    });
    const onEvent = (line: string) => {
      let ev: { type: string; object: KubeObject & { status?: ModelStatus } };
      try {
        ev = JSON.parse(line);
      } catch {
        return; // partial line
      }
      const name = ev.object.metadata?.name ?? "";
      if (ev.type === "DELETED" || ev.type === "ERROR") return;
      const st = ev.object.status;
      if (st?.observedGeneration === ev.object.metadata?.generation) observed.add(name);
      else observed.delete(name);
      if (st?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) ready.add(name);
      else ready.delete(name);
      if (Number.isNaN(statusMs) && observed.size === MODELS) statusMs = performance.now() - start;
      if (ready.size === MODELS) allReady();
    };
    try {
      void h.rest
        .stream(`/apis/medmlops.io/v1alpha1/namespaces/${ns.name}/medmodels`, {
          query: { watch: true },
          signal: stop.signal,
          onLine: onEvent,
        })
        .catch(() => {});
      const timedOut = await Promise.race([done.then(() => false), sleep(600_000).then(() => true)]);
      if (timedOut) throw new Error(`timed out: ${observed.size} observed, ${ready.size} ready of ${MODELS}`);
      readyMs = performance.now() - start;
    } finally {
      stop.abort();
      clearInterval(sampler);
      peak = Math.max(peak, rssMb(op.pid!));
      await stopOperator(op);
    }
    out({
      bench: "cold-start",
      models: MODELS,
      create_ms: round(createMs),
      all_status_written_ms: round(statusMs),
      all_ready_ms: round(readyMs),
      operator_peak_rss_mb: round(peak),
      idle_operator_rss_mb: round(idleRss),
      ratio_rss_vs_idle: +(peak / idleRss).toFixed(2),
      goal: "<= 60000 ms, <= 250 MB",
    });
  } finally {
    await ns.delete();
  }
}

await installCrds();
if (only.has("latency")) await benchLatency();
if (only.has("failover")) await benchFailover();
if (only.has("scale")) await benchScale();
process.exit(0);
