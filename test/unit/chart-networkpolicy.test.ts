// The chart's model NetworkPolicy and PodMonitor (rendered offline with helm) against the pods the operator builds
// (operator/medmodel/children.ts): Prometheus reaches the sidecars' metrics port and nothing else, clinical callers
// reach the inference port only when listed, and the PodMonitor scrapes a port the model container declares.
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildDeployment } from "../../operator/medmodel/children.ts";
import { medModel } from "../../operator/medmodel/fixtures.ts";
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
