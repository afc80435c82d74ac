// The chart's alerts and Grafana dashboards against a real Prometheus (Debian's server, started here on loopback)
// scraping real targets: two `medmlops sidecar` processes serving a real ONNX model on DICOM (v1 and a v2 whose
// inputs shift, some refused requests, then 503s while suspended), a real `medmlops monitor` process fed by those
// sidecars' records and annotations, and the operator's Manager (MedModel + ValidationPolicy controllers, leader
// election) on the real control plane, whose status gauges describe a MedModel that failed over after a breach and
// was then suspended by its stop button. Prometheus scrapes from before the first request to the end.
//
// The scrape configuration is made from the chart's own PodMonitor and ServiceMonitors the way the Prometheus
// Operator turns them into jobs (target labels namespace/pod/service/endpoint/job, honorLabels); the PodMonitor's
// targets are the pods the operator created that its selector matches. The rules are the chart's PrometheusRule.
// Then every rule's and every dashboard panel's PromQL runs through the HTTP API: a query error fails; a panel
// without series fails; and every metric selector in a query must match series by itself, so a misspelt metric
// fails even behind `or vector(0)` — checked here too, by misspelling each query's metrics.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { caseId } from "../../inference-sidecar/case-id.ts";
import { ctPhantom, writeDicom } from "../../inference-sidecar/testing/dicom.ts";
import { cnnCtSignature, writeModel } from "../../inference-sidecar/testing/models.ts";
import { type SidecarProcess, startSidecarProcess } from "../../inference-sidecar/testing/process.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "../../monitor/testing/index.ts";
import { ValidationPolicyKind } from "../../operator/kinds.ts";
import { Manager } from "../../operator/manager.ts";
import { METRICS_PORT, SIDECAR_PORT } from "../../operator/medmodel/children.ts";
import { medModelControllerWith } from "../../operator/medmodel/index.ts";
import type { KubeObject } from "../../operator/runtime/index.ts";
import { validationPolicyController } from "../../operator/validationpolicy/controller.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import { renderChartTemplate, type StartedPrometheus, startPrometheus } from "../support/prometheus.ts";
import {
  condition,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

const KEY = "promlive-case-id-key-0123456789abcdef";
const CHART_SET = [
  "metrics.podMonitor.enabled=true",
  "metrics.serviceMonitor.enabled=true",
  "monitor.serviceMonitor.enabled=true",
  // The test's monitor serves plain HTTP and scrapeJob below does not translate scheme/tlsConfig: render the
  // chart's plain-HTTP variant (the HTTPS ServiceMonitor is checked in test/unit/chart-servicemonitors.test.ts).
  "monitor.tls.mode=none",
  "metrics.prometheusRule.enabled=true",
  "grafana.dashboards.enabled=true",
];

/**
 * Panels allowed to show no series in this scenario, with the reason. Keep this minimal: every other panel must
 * show data, and even these must only name metrics that exist (the selector check below still applies).
 */
const PANELS_WITHOUT_SERIES: Record<string, string> = {};

/**
 * Rule selectors that may match nothing in a healthy run (their metric name must still exist).
 * `result="error"`: no reconcile failed here; the counter exists with result="success".
 */
const RULE_SELECTORS_MAY_BE_EMPTY = new Set(['medmlops_operator_reconcile_total{result="error"}']);

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Endpoint {
  port: string;
  path?: string;
  honorLabels?: boolean;
}
type Pod = KubeObject & {
  spec: { containers: { name: string; ports?: { name?: string; containerPort?: number }[] }[] };
};
interface Target {
  name: string;
  mode: "range" | "instant";
  expr: string;
}

async function chart(template: string): Promise<Doc[]> {
  const text = await renderChartTemplate(template, CHART_SET);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** Every `medmlops_*` (and `up`) selector in a query, with its label matchers as written. */
function selectorsOf(expr: string): string[] {
  return [...expr.matchAll(/\b(medmlops_[a-zA-Z0-9_]+|up)\b(\{[^}]*\})?/g)].map((m) => m[0]);
}

let ns: FreshNamespace;
let h: Harness;
let manager: Manager;
let monitor: SpawnedMonitor;
let prom: StartedPrometheus;
let promStart = 0;
const sidecars: Record<string, SidecarProcess> = {};
const dir = mkdtempSync(join(tmpdir(), "medmlops-promlive-"));
let rulesDoc: Doc;
const dashboards: Record<string, { panels: { title: string; targets: Record<string, unknown>[] }[] }> = {};

/** The sidecar target the Prometheus Operator would make of a model pod, pointed at the process standing in. */
function podTargets(podMonitor: Doc, pods: Pod[]) {
  const ep = (podMonitor.spec.podMetricsEndpoints as Endpoint[])[0]!;
  const match = (podMonitor.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
  const selected = pods.filter((p) => Object.entries(match).every(([k, v]) => p.metadata?.labels?.[k] === v));
  return selected.map((p) => {
    const version = p.metadata?.labels?.["medmlops.io/version"] ?? "";
    const container = p.spec.containers.find((c) => c.ports?.some((x) => x.name === ep.port));
    if (!container) throw new Error(`pod ${p.metadata?.name} has no port named ${ep.port}`);
    const sidecar = sidecars[version];
    if (!sidecar) throw new Error(`no sidecar process for version ${version}`);
    // The pod's port the endpoint names, mapped onto the process standing in: its inference or its metrics port.
    const port = container.ports?.find((x) => x.name === ep.port);
    const local =
      port?.containerPort === SIDECAR_PORT
        ? sidecar.port
        : port?.containerPort === METRICS_PORT
          ? sidecar.metricsPort
          : undefined;
    if (local === undefined)
      throw new Error(`port ${ep.port} (${port?.containerPort}) is not a sidecar port`);
    return {
      targets: [`127.0.0.1:${local}`],
      labels: {
        job: `${podMonitor.metadata.namespace}/${podMonitor.metadata.name}`,
        namespace: p.metadata?.namespace ?? "",
        pod: p.metadata?.name ?? "",
        container: container.name,
        endpoint: ep.port,
      },
    };
  });
}

function scrapeJob(job: string, ep: Endpoint & { scheme?: string }, staticConfigs: unknown[]) {
  // Never scrape an https endpoint over http by accident: the scheme is not translated here.
  expect(ep.scheme ?? "http", `${job}: scheme`).toBe("http");
  return {
    job_name: job,
    honor_labels: ep.honorLabels ?? false,
    metrics_path: ep.path ?? "/metrics",
    static_configs: staticConfigs,
  };
}

/** A ServiceMonitor's job for one Service (job label = the Service's name, as the Prometheus Operator sets it). */
function serviceJob(sm: Doc, services: Doc[], port: number, pod: string, container: string) {
  const ep = (sm.spec.endpoints as Endpoint[])[0]!;
  const match = (sm.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
  const svc = services.filter((s) => Object.entries(match).every(([k, v]) => s.metadata.labels?.[k] === v));
  expect(svc, `${sm.metadata.name} selects one Service`).toHaveLength(1);
  const s = svc[0]!;
  expect((s.spec.ports as { name: string }[]).map((p) => p.name)).toContain(ep.port);
  return scrapeJob(`serviceMonitor/${sm.metadata.namespace}/${sm.metadata.name}/0`, ep, [
    {
      targets: [`127.0.0.1:${port}`],
      labels: {
        job: s.metadata.name,
        namespace: s.metadata.namespace ?? "",
        service: s.metadata.name,
        endpoint: ep.port,
        pod,
        container,
      },
    },
  ]);
}

async function infer(url: string, i: number, version: string, shift: number) {
  const uid = `2.25.${version === "v1" ? 1 : 2}${String(i).padStart(6, "0")}`;
  const body = writeDicom({
    rows: 16,
    columns: 16,
    pixels: ctPhantom(16, 16, i + 1),
    studyInstanceUid: uid,
    rescaleIntercept: -1024 + shift,
    noPatientId: true,
    extra: { Manufacturer: "GE", KVP: "120" },
  });
  const r = await fetch(`${url}/v2/models/chest/infer`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body,
  });
  await r.arrayBuffer();
  return { status: r.status, id: caseId({ key: Buffer.from(KEY), persistent: true }, uid) };
}

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("promlive");
  h = harness(ns.name);
  monitor = await spawnMonitor({ dataDir: await freshPgliteDir() });
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [
      medModelControllerWith({ decision: FAST }),
      (deps) => validationPolicyController(deps, { monitor: monitor.client, firstRecords: 10 }),
    ],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    leaderElection: { namespace: ns.name, leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 },
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `promlive-${process.pid}`,
    },
  });
  await manager.start();

  writeModel(dir, "cnn");
  writeFileSync(join(dir, "signature.json"), JSON.stringify(cnnCtSignature));
  for (const version of ["v1", "v2"]) {
    writeFileSync(join(dir, `control-${version}.json`), JSON.stringify({ suspended: false }));
    sidecars[version] = await startSidecarProcess(
      [
        ...["--model", join(dir, "cnn.onnx"), "--name", "chest", "--version", version],
        ...["--signature", join(dir, "signature.json"), "--warmup-runs", "0"],
        ...["--monitor-url", monitor.url, "--monitor-batch", "10", "--monitor-namespace", ns.name],
        ...["--control-file", join(dir, `control-${version}.json`)],
      ],
      { env: { MEDMLOPS_CASE_ID_KEY: KEY, MEDMLOPS_CASE_ID_KEY_FILE: "" } },
    );
  }
}, 180_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of Object.values(sidecars)) await s.stop();
  await manager?.stop();
  await monitor?.stop();
  await ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

describe("alerts and dashboards on a real Prometheus", () => {
  it("the operator rolls chest out to v2: the pods the PodMonitor will select exist", async () => {
    const blueGreen = { rollout: { strategy: "BlueGreen", requireValidation: false } };
    await h.user.apply(manifest("chest", ns.name, { activeVersion: "v1", ...blueGreen }));
    await waitFor(
      async () => (await getModel(h, ns.name, "chest"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("chest", ns.name, { activeVersion: "v2", ...blueGreen }));
    await waitFor(async () => (await getModel(h, ns.name, "chest"))?.status?.activeVersion === "v2", 30_000);
  }, 90_000);

  it("Prometheus scrapes every target the chart's monitors describe, and loads the chart's rules", async () => {
    const [podMonitor] = await chart("templates/podmonitor.yaml");
    const serviceMonitors = await chart("templates/servicemonitor.yaml");
    const services = [
      ...(await chart("templates/service.yaml")),
      ...(await chart("templates/monitor.yaml")).filter((d) => d.kind === "Service"),
    ];
    [rulesDoc] = (await chart("templates/prometheusrule.yaml")) as [Doc];
    for (const cm of await chart("templates/grafana-dashboards.yaml"))
      for (const [key, json] of Object.entries(cm.data ?? {})) dashboards[key] = JSON.parse(json);
    expect(Object.keys(dashboards).sort()).toEqual(["medmlops-hospital.json", "medmlops-model.json"]);

    const pods = (await h.rest.request<{ items: Pod[] }>("GET", `/api/v1/namespaces/${ns.name}/pods`)).items;
    const chestPods = pods.filter((p) => p.metadata?.labels?.["medmlops.io/model"] === "chest");
    const sidecarTargets = podTargets(podMonitor!, chestPods);
    // the operator's pods for both versions of chest carry the labels and port the PodMonitor selects: their
    // metrics ports (the inference ports serve no /metrics)
    expect(new Set(sidecarTargets.map((t) => t.targets[0]))).toEqual(
      new Set([`127.0.0.1:${sidecars.v1!.metricsPort}`, `127.0.0.1:${sidecars.v2!.metricsPort}`]),
    );
    const sm = (suffix: string) => serviceMonitors.find((d) => d.metadata.name.endsWith(suffix))!;
    // the monitor's metrics port (its API port serves no /metrics)
    const monitorPort = Number(new URL(monitor.metricsUrl).port);
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ["rules.yaml"],
      scrape_configs: [
        scrapeJob(
          `podMonitor/${podMonitor!.metadata.namespace}/${podMonitor!.metadata.name}/0`,
          (podMonitor!.spec.podMetricsEndpoints as Endpoint[])[0]!,
          sidecarTargets,
        ),
        serviceJob(sm("-operator"), services, manager.port!, "x-medmlops-operator-0", "operator"),
        serviceJob(sm("-monitor"), services, monitorPort, "x-medmlops-monitor-0", "monitor"),
      ],
    };
    promStart = Math.floor(Date.now() / 1000) - 1;
    prom = await startPrometheus(stringify(config), {
      "rules.yaml": stringify({ groups: rulesDoc.spec.groups }),
    });

    type Targets = { activeTargets: { health: string; scrapeUrl: string; lastError: string }[] };
    const targets = await waitFor(async () => {
      const t = await prom.api<Targets>("targets");
      return t.activeTargets.length === 4 && t.activeTargets.every((x) => x.health === "up") ? t : undefined;
    }, 30_000);
    expect(targets.activeTargets.map((t) => t.lastError)).toEqual(["", "", "", ""]);
    type Rules = {
      groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
    };
    const loaded = (await prom.api<Rules>("rules")).groups.flatMap((g) => g.rules);
    const declared = (rulesDoc.spec.groups as { rules: { alert: string }[] }[]).flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(declared.map((r) => r.alert).sort());
    for (const r of loaded)
      expect({ rule: r.name, health: r.health, error: r.lastError ?? "" }).toEqual({
        rule: r.name,
        health: "ok",
        error: "",
      });
  }, 120_000);

  it("the loop, scraped as it runs: drift and a breach on v2, failover to v1, the stop button, 503s", async () => {
    const blueGreen = { rollout: { strategy: "BlueGreen", requireValidation: false } };
    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "chest-policy", namespace: ns.name },
      spec: {
        modelRef: { name: "chest" },
        sampling: { rate: 1 },
        metrics: [{ name: "sensitivity", min: 0.9, minSamples: 20 }],
        drift: {
          checks: [
            { source: "input", feature: "image:mean", test: "ks", pValue: 0.01 },
            { source: "input", feature: "image:mean", test: "psi", threshold: 0.2 },
          ],
        },
        schedule: { interval: "3s" },
        actions: { onBreach: ["Alert", "Failover"], onDrift: ["Alert"] },
      },
    });
    type VP = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
    const vp = () => h.user.get<VP>(ValidationPolicyKind, { namespace: ns.name, name: "chest-policy" });
    const vpCond = async (type: string) =>
      (await vp())?.status?.conditions?.find((c) => c.type === type)?.status;
    await waitFor(async () => (await vpCond("Ready")) === "True", 30_000);

    // Real requests: v1 sees the reference distribution; v2 its first 10 like v1 (its frozen reference), then +300 HU.
    const v1 = [];
    const v2 = [];
    for (let i = 0; i < 20; i++) v1.push(await infer(sidecars.v1!.url, i, "v1", 0));
    for (let i = 0; i < 40; i++) v2.push(await infer(sidecars.v2!.url, i, "v2", i < 10 ? 0 : 300));
    expect([...v1, ...v2].map((r) => r.status)).toEqual(Array(60).fill(200));
    // Refused requests: a type the protocol does not define (415) and a malformed JSON body (400).
    const bad415 = await fetch(`${sidecars.v1!.url}/v2/models/chest/infer`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    const bad400 = await fetch(`${sidecars.v1!.url}/v2/models/chest/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect([bad415.status, bad400.status]).toEqual([415, 400]);

    // Every v2 case was positive; the model (operating point 0.3, scores ≈ 0.13) called none: sensitivity 0 < 0.9.
    await waitFor(async () => {
      const wl = await monitor.client.worklist({ namespace: ns.name, model: "chest", limit: 1000 });
      return wl.cases.filter((c) => c.version === "v2").length === 40;
    }, 30_000);
    const ann = await monitor.client.postAnnotations(
      v2.map((c) => ({
        namespace: ns.name,
        model: "chest",
        caseId: c.id,
        positive: true,
        time: new Date().toISOString(),
        source: "reader" as const,
      })),
    );
    expect(ann.accepted).toBe(40);

    await waitFor(
      async () => (await vpCond("Breached")) === "True" && (await vpCond("DriftDetected")) === "True",
      60_000,
    );
    const chest = await waitFor(async () => {
      const m = await getModel(h, ns.name, "chest");
      return m?.status?.activeVersion === "v1" && condition(m, "FailedOver")?.status === "True"
        ? m
        : undefined;
    }, 30_000);
    expect(chest.status?.failover?.lastTransition?.reason).toBe("ValidationBreach");

    // The safety officer presses the stop button. The operator writes control.json into the model's ConfigMap,
    // which the pods mount; here each sidecar process gets the same file. Both answer 503 "refer to clinician".
    await h.user.apply(
      manifest("chest", ns.name, {
        activeVersion: "v2",
        suspend: true,
        suspendReason: "vendor recall",
        ...blueGreen,
      }),
    );
    const suspended = await waitFor(async () => {
      const m = await getModel(h, ns.name, "chest");
      return condition(m, "Suspended")?.status === "True" ? m : undefined;
    }, 30_000);
    // still held on v1 after the failover: v2 is breached, so the spec change is no fail-back
    expect(suspended.status?.activeVersion).toBe("v1");
    expect(condition(suspended, "FailedOver")?.status).toBe("True");
    for (const v of ["v1", "v2"]) {
      writeFileSync(
        join(dir, `control-${v}.json`),
        JSON.stringify({ suspended: true, reason: "vendor recall" }),
      );
      await waitFor(async () => (await infer(sidecars[v]!.url, 99, v, 0)).status === 503, 15_000);
    }
    // spread over several scrapes: Prometheus only counts increases it sees between two samples of a new series
    for (let i = 0; i < 10; i++) {
      for (const v of ["v1", "v2"]) expect((await infer(sidecars[v]!.url, 100 + i, v, 0)).status).toBe(503);
      await new Promise((r) => setTimeout(r, 400));
    }
    // a few seconds of samples after the last change, so rules evaluated on them
    await new Promise((r) => setTimeout(r, 4_000));
  }, 240_000);

  /** What is wrong with one query: its error, no series (unless allowed), and each selector matching nothing. */
  async function problemsOf(
    expr: string,
    mode: "instant" | "range",
    opts: { allowNoSeries?: boolean; selectorsMayBeEmpty?: Set<string> } = {},
  ): Promise<string[]> {
    const problems: string[] = [];
    const now = Math.floor(Date.now() / 1000);
    try {
      const result =
        mode === "instant" ? await prom.query(expr, now) : await prom.queryRange(expr, promStart, now, 2);
      if (result.length === 0 && !opts.allowNoSeries) problems.push("no series");
    } catch (e) {
      problems.push(`query error: ${(e as Error).message}`);
      return problems;
    }
    for (const sel of new Set(selectorsOf(expr))) {
      const name = sel.replace(/\{.*$/, "");
      const probe = opts.selectorsMayBeEmpty?.has(sel) ? `{__name__="${name}"}` : sel;
      const r = await prom.query(`count(${probe})`, now).catch(() => []);
      if (r.length === 0) problems.push(`selector ${probe} matches no series`);
    }
    return problems;
  }

  const rules = () =>
    (rulesDoc.spec.groups as { rules: { alert: string; expr: string }[] }[]).flatMap((g) => g.rules);

  it("every rule's expression runs, and every metric it names exists", async () => {
    const found: Record<string, string[]> = {};
    for (const r of rules()) {
      const p = await problemsOf(r.expr, "instant", {
        allowNoSeries: true,
        selectorsMayBeEmpty: RULE_SELECTORS_MAY_BE_EMPTY,
      });
      if (p.length > 0) found[r.alert] = p;
    }
    expect(found).toEqual({});
  });

  it("the alerts of this scenario fire, and a suspended version's 503s are not a serving-errors alert", async () => {
    type Alerts = { alerts: { labels: Record<string, string>; state: string }[] };
    const alerts = await waitFor(async () => {
      const a = (await prom.api<Alerts>("alerts")).alerts;
      const firing = new Set(a.filter((x) => x.state === "firing").map((x) => x.labels.alertname));
      return [
        "MedModelDriftDetected",
        "MedModelPerformanceBreach",
        "MedModelFailedOver",
        "MedModelSuspended",
      ].every((n) => firing.has(n))
        ? a
        : undefined;
    }, 30_000);
    const of = (name: string) => alerts.filter((a) => a.labels.alertname === name).map((a) => a.labels);
    expect(of("MedModelPerformanceBreach")).toEqual([
      expect.objectContaining({ namespace: ns.name, policy: "chest-policy", model: "chest", version: "v2" }),
    ]);
    expect(of("MedModelDriftDetected")).toContainEqual(
      expect.objectContaining({ namespace: ns.name, model: "chest", version: "v2", feature: "image:mean" }),
    );
    expect(of("MedModelFailedOver")).toEqual([
      expect.objectContaining({
        namespace: ns.name,
        model: "chest",
        from: "v2",
        to: "v1",
        reason: "ValidationBreach",
      }),
    ]);
    expect(of("MedModelSuspended")).toEqual([
      expect.objectContaining({ namespace: ns.name, model: "chest", reason: "Suspended" }),
    ]);
    // both versions' 5xx share is far above 5 % (their 503s while suspended) …
    const ratio = await prom.query(
      `sum by (namespace, model, version) (rate(medmlops_sidecar_requests_total{status=~"5.."}[5m])) / sum by (namespace, model, version) (rate(medmlops_sidecar_requests_total[5m])) > 0.05`,
    );
    expect(ratio.map((r) => r.metric.version).sort()).toEqual(["v1", "v2"]);
    // … yet the serving-errors alert is neither pending nor firing; nor is any operator alert
    const quiet = [
      "MedModelServingErrors",
      "MedMLOpsOperatorDown",
      "MedMLOpsNoLeader",
      "MonitorRecordsDropped",
    ];
    expect(alerts.filter((a) => quiet.includes(a.labels.alertname ?? ""))).toEqual([]);
  });

  /** Every query of a dashboard with its variables substituted as Grafana would for namespace/chest. */
  function targetsOf(file: string): Target[] {
    const sub = (e: string) =>
      e.replaceAll("$__rate_interval", "1m").replaceAll("$namespace", ns.name).replaceAll("$model", "chest");
    return dashboards[file]!.panels.flatMap((p) =>
      p.targets.map((t) => ({
        name: `${p.title} [${t.refId}]`,
        mode: t.instant === true ? ("instant" as const) : ("range" as const),
        expr: sub(String(t.expr)),
      })),
    );
  }

  for (const file of ["medmlops-hospital.json", "medmlops-model.json"]) {
    it(`${file}: every panel query runs and shows series, from metrics that exist`, async () => {
      const found: Record<string, string[]> = {};
      for (const t of targetsOf(file)) {
        const title = t.name.replace(/ \[[A-Z]\]$/, "");
        const p = await problemsOf(t.expr, t.mode, { allowNoSeries: title in PANELS_WITHOUT_SERIES });
        if (p.length > 0) found[t.name] = p;
      }
      expect(found).toEqual({});
    });

    it(`${file}: its template variables offer this namespace and model`, async () => {
      const d = dashboards[file] as unknown as {
        templating: { list: { name: string; type: string; query?: { query: string } }[] };
      };
      for (const v of d.templating.list.filter((x) => x.type === "query")) {
        const q = v.query!.query.replaceAll("$namespace", ns.name);
        const m = /^label_values\((.+), *(\w+)\)$/.exec(q);
        expect(m, q).not.toBeNull();
        const values = await prom.api<string[]>(
          `label/${m![2]}/values?${new URLSearchParams({ "match[]": m![1]! })}`,
        );
        expect(values, v.name).toContain(v.name === "model" ? "chest" : ns.name);
      }
    });

    it(`${file}: a misspelt metric in any query is caught, even behind \`or vector(0)\``, async () => {
      const missed: string[] = [];
      for (const t of targetsOf(file))
        for (const name of new Set(selectorsOf(t.expr).map((s) => s.replace(/\{.*$/, "")))) {
          const typo = t.expr.replaceAll(name, `${name}s`);
          if ((await problemsOf(typo, t.mode)).length === 0) missed.push(`${t.name}: ${name}`);
        }
      expect(missed).toEqual([]);
    });
  }
});
