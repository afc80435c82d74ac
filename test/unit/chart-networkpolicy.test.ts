// The chart's model and monitor NetworkPolicies and the PodMonitor (rendered offline with helm) against the pods the
// operator builds (operator/medmodel/children.ts, operator/retrainjob/job.ts): Prometheus reaches the sidecars' and
// the monitor's metrics ports and nothing else, clinical callers reach the inference port only when listed, the
// monitor's API only its callers (operator, model pods, RetrainJob pods), and the scrapes name ports that exist.
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { RetrainJobSchema } from "../../crds/index.ts";
import { buildDeployment } from "../../operator/medmodel/children.ts";
import { medModel } from "../../operator/medmodel/fixtures.ts";
import { buildEvalJob, buildTrainJob } from "../../operator/retrainjob/job.ts";
import { one, renderChart } from "../support/chart.ts";
import { renderChartTemplate } from "../support/prometheus.ts";

interface Peer {
  podSelector?: Record<string, unknown>;
  namespaceSelector?: { matchLabels?: Record<string, string> };
}
interface Rule {
  ports: { port: number | string; protocol: string }[];
  from?: Peer[];
}
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read at arbitrary paths
type Obj = any;

const objects = (yaml: string): Obj[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS())
    .filter(Boolean);

const WATCHED = "operator.watchNamespaces={rad,onc}";
const MONITORING = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } };

async function modelPolicies(set: string[]): Promise<Obj[]> {
  return objects(await renderChartTemplate("templates/networkpolicy.yaml", set)).filter(
    (o) => o.kind === "NetworkPolicy" && o.metadata.name.endsWith("-models"),
  );
}

/** The ports of the sidecar container the operator builds, by name. */
function sidecarPorts(): Record<string, number> {
  const dep = buildDeployment(medModel(), medModel().spec.versions[0]!, 1, { sidecarImage: "img:1" }) as Obj;
  const c = dep.spec.template.spec.containers.find((x: Obj) => x.name === "sidecar");
  return Object.fromEntries(
    c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
  );
}

const rulesFor = (policy: Obj, port: number): Rule[] =>
  (policy.spec.ingress as Rule[]).filter((r) => r.ports.some((p) => p.port === port));

describe("chart NetworkPolicy for model pods", () => {
  const ports = sidecarPorts();

  it("the operator's pods have two ports: inference (http) and metrics", () => {
    expect(Object.keys(ports).sort()).toEqual(["http", "metrics"]);
    expect(ports.metrics).not.toBe(ports.http);
  });

  it("by default: the monitoring namespace reaches the metrics port only, and nobody the inference port", async () => {
    const policies = await modelPolicies([WATCHED]);
    expect(policies.map((p) => p.metadata.namespace).sort()).toEqual(["onc", "rad"]);
    for (const p of policies) {
      expect(p.spec.policyTypes).toEqual(["Ingress"]);
      // One rule, and it names a port and a source: a rule without `from` would admit every source.
      expect(p.spec.ingress).toEqual([
        { ports: [{ port: ports.metrics, protocol: "TCP" }], from: [MONITORING] },
      ]);
      expect(rulesFor(p, ports.http!)).toEqual([]);
    }
  });

  it("the listed callers reach the inference port only; the monitoring namespace still only the metrics port", async () => {
    const policies = await modelPolicies([
      WATCHED,
      "networkPolicy.inferenceFrom[0].namespaceSelector.matchLabels.role=pacs-gateway",
      "networkPolicy.inferenceFrom[1].podSelector.matchLabels.app=viewer",
      "networkPolicy.monitoringNamespace=prom",
    ]);
    const prom = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "prom" } } };
    for (const p of policies) {
      expect(rulesFor(p, ports.http!)).toEqual([
        {
          ports: [{ port: ports.http, protocol: "TCP" }],
          from: [
            { namespaceSelector: { matchLabels: { role: "pacs-gateway" } } },
            { podSelector: { matchLabels: { app: "viewer" } } },
          ],
        },
      ]);
      expect(rulesFor(p, ports.metrics!)).toEqual([
        { ports: [{ port: ports.metrics, protocol: "TCP" }], from: [prom] },
      ]);
      for (const r of p.spec.ingress as Rule[]) {
        expect(
          r.ports,
          "one port per rule: a source admitted to one port is not admitted to the other",
        ).toHaveLength(1);
        expect(r.from?.length).toBeGreaterThan(0);
      }
    }
  });

  it("inferenceFromOwnNamespace adds the model's own namespace to the inference rule only", async () => {
    const [p] = await modelPolicies([WATCHED, "networkPolicy.inferenceFromOwnNamespace=true"]);
    expect(rulesFor(p, ports.http!)).toEqual([
      { ports: [{ port: ports.http, protocol: "TCP" }], from: [{ podSelector: {} }] },
    ]);
    expect(rulesFor(p, ports.metrics!)[0]!.from).toEqual([MONITORING]);
  });

  it("no model policies without watchNamespaces, none when disabled", async () => {
    expect(await modelPolicies([])).toEqual([]);
    await expect(
      renderChartTemplate("templates/networkpolicy.yaml", [WATCHED, "networkPolicy.enabled=false"]),
    ).rejects.toThrow(/could not find template/);
  });
});

describe("chart PodMonitor", () => {
  it("scrapes /metrics on the operator-built container's metrics port, the port the NetworkPolicy opens to monitoring", async () => {
    const [pm] = objects(
      await renderChartTemplate("templates/podmonitor.yaml", ["metrics.podMonitor.enabled=true"]),
    );
    expect(pm.kind).toBe("PodMonitor");
    const eps = pm.spec.podMetricsEndpoints as { port: string; path: string }[];
    expect(eps.map((e) => [e.port, e.path])).toEqual([["metrics", "/metrics"]]);
    const ports = sidecarPorts();
    const [policy] = await modelPolicies([WATCHED]);
    expect(rulesFor(policy, ports[eps[0]!.port]!)[0]!.from).toEqual([MONITORING]);
    // Its selector matches the operator's pods.
    const dep = buildDeployment(medModel(), medModel().spec.versions[0]!, 1, {
      sidecarImage: "img:1",
    }) as Obj;
    const labels = dep.spec.template.metadata.labels as Record<string, string>;
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels as Record<string, string>))
      expect(labels[k], k).toBe(v);
  });
});

/** Whether a NetworkPolicy peer admits a pod with `labels` in namespace `ns` (the policy's namespace is `home`). */
function admits(peer: Obj, pod: { ns: string; labels: Record<string, string> }, home: string): boolean {
  const selects = (sel: Obj | undefined, labels: Record<string, string>) =>
    Object.entries((sel?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v) &&
    ((sel?.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]).every((e) =>
      e.operator === "Exists"
        ? e.key in labels
        : e.operator === "In"
          ? e.values!.includes(labels[e.key]!)
          : (() => {
              throw new Error(`operator ${e.operator} not modelled`);
            })(),
    );
  const nsLabels = { "kubernetes.io/metadata.name": pod.ns };
  if (peer.namespaceSelector === undefined && pod.ns !== home) return false;
  if (peer.namespaceSelector !== undefined && !selects(peer.namespaceSelector, nsLabels)) return false;
  return peer.podSelector === undefined || selects(peer.podSelector, pod.labels);
}

/** The ports of `policy` a pod reaches. */
function reachable(policy: Obj, pod: { ns: string; labels: Record<string, string> }): number[] {
  return (policy.spec.ingress as Rule[])
    .filter((r) => (r.from ?? []).some((peer) => admits(peer, pod, policy.metadata.namespace)))
    .flatMap((r) => r.ports.map((p) => Number(p.port)))
    .sort();
}

describe("chart NetworkPolicy for the monitor", () => {
  const rj = RetrainJobSchema.parse({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: { name: "cxr-v3", namespace: "rad", uid: "u-1" },
    spec: {
      modelRef: { name: "cxr" },
      baseVersion: "v2",
      candidateVersion: "v3",
      trainer: { image: "trainer@sha256:abc", command: ["python", "train.py"] },
    },
  });
  const src = { uri: "pvc://models/cxr/v2.onnx", sha256: "b".repeat(64) };
  const jobOpts = { image: "medmlops:1", monitorUrl: "http://m:8090", outputClaim: "models", datasetId: "d" };
  const podLabels = (o: Obj): Record<string, string> => o.spec.template.metadata.labels;

  async function rendered(set: string[]) {
    const objs = await renderChart(set);
    const policy = one(objs, "NetworkPolicy", "-monitor");
    const deploy = one(objs, "Deployment", "-monitor");
    const operator = one(objs, "Deployment", "-operator");
    const svc = objs.find((o) => o.kind === "Service" && o.metadata.name.endsWith("-monitor"))!;
    return { objs, policy, deploy, operator, svc };
  }

  it("the API port admits the operator, model pods and RetrainJob pods; the metrics port only the monitoring namespace", async () => {
    const { policy, deploy, operator } = await rendered([WATCHED]);
    const c = deploy.spec.template.spec.containers[0];
    const ports = Object.fromEntries(
      (c.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]),
    );
    // The container's ports as the monitor is told them on its command line.
    const arg = (f: string) => Number(c.args[c.args.indexOf(f) + 1]);
    expect(ports).toEqual({ https: arg("--port"), metrics: arg("--metrics-port") });
    const api = ports.https!;
    const metrics = ports.metrics!;
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    for (const r of policy.spec.ingress as Rule[]) {
      expect(r.ports, "one port per rule").toHaveLength(1);
      expect(r.from?.length, "a rule without from admits everyone").toBeGreaterThan(0);
    }
    const model = buildDeployment(medModel(), medModel().spec.versions[0]!, 1, {
      sidecarImage: "img:1",
    }) as Obj;
    const who = {
      operator: { ns: "med", labels: podLabels(operator) },
      "model pod": { ns: "rad", labels: podLabels(model) },
      "evaluate Job pod": { ns: "onc", labels: podLabels(buildEvalJob(rj, src, src, jobOpts)) },
      "train Job pod": { ns: "rad", labels: podLabels(buildTrainJob(rj, src, jobOpts)) },
      "Prometheus (monitoring namespace)": {
        ns: "monitoring",
        labels: { "app.kubernetes.io/name": "prometheus" },
      },
      "another pod of a watched namespace": { ns: "rad", labels: { app: "viewer" } },
      "a model pod of an unwatched namespace": { ns: "elsewhere", labels: podLabels(model) },
      "another pod of the release namespace": { ns: "med", labels: { app: "x" } },
      "the monitor's own component label, elsewhere": { ns: "rad", labels: podLabels(deploy) },
    };
    expect(Object.fromEntries(Object.entries(who).map(([k, pod]) => [k, reachable(policy, pod)]))).toEqual({
      operator: [api],
      "model pod": [api],
      "evaluate Job pod": [api],
      "train Job pod": [api],
      "Prometheus (monitoring namespace)": [metrics],
      "another pod of a watched namespace": [],
      "a model pod of an unwatched namespace": [],
      "another pod of the release namespace": [],
      "the monitor's own component label, elsewhere": [],
    });
  });

  it("without watchNamespaces, model and Job pods of any namespace reach the API, still not the metrics port", async () => {
    const { policy } = await rendered([]);
    const model = buildDeployment(medModel(), medModel().spec.versions[0]!, 1, {
      sidecarImage: "img:1",
    }) as Obj;
    expect(reachable(policy, { ns: "anywhere", labels: podLabels(model) })).toEqual([8090]);
    expect(
      reachable(policy, { ns: "anywhere", labels: podLabels(buildEvalJob(rj, src, src, jobOpts)) }),
    ).toEqual([8090]);
    expect(
      reachable(policy, { ns: "anywhere", labels: { "app.kubernetes.io/managed-by": "medmlops" } }),
    ).toEqual([]);
  });

  it("the ServiceMonitor scrapes the Service port that leads to the container port the policy opens to monitoring", async () => {
    for (const tls of [[], ["monitor.tls.mode=none"]]) {
      const set = [WATCHED, "monitor.serviceMonitor.enabled=true", "monitor.metricsPort=9555", ...tls];
      const { objs, policy, deploy, svc } = await rendered(set);
      const sm = one(objs, "ServiceMonitor", "-monitor");
      const ep = sm.spec.endpoints[0];
      expect(ep.path).toBe("/metrics");
      const svcPort = (svc.spec.ports as Obj[]).find((p) => p.name === ep.port);
      const containerPort = (deploy.spec.template.spec.containers[0].ports as Obj[]).find(
        (p) => p.name === svcPort.targetPort,
      );
      expect(containerPort.containerPort).toBe(9555);
      expect(reachable(policy, { ns: "monitoring", labels: {} })).toEqual([9555]);
      // The scrape's scheme is the API's: https with the chart's CA unless monitor.tls.mode is none.
      expect(ep.scheme ?? "http").toBe(tls.length ? "http" : "https");
    }
  });

  it("refuses metricsPort equal to port", async () => {
    await expect(renderChart(["monitor.metricsPort=8090"])).rejects.toThrow(
      /monitor.metricsPort must differ from monitor.port/,
    );
  });
});
