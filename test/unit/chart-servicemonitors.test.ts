// The chart's ServiceMonitors (rendered offline with helm): one for the operator's metrics Service, one for the
// monitor's, each selecting exactly its own Service, on a port that Service has, with honorLabels (both export
// series labelled with the model's namespace).
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { renderChartTemplate } from "../support/prometheus.ts";

interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    selector?: { matchLabels: Record<string, string> };
    endpoints?: { port: string; path: string; interval: string; honorLabels?: boolean }[];
    ports?: { name: string }[];
  };
}

const objects = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);

/** helm refuses `-s` for a template that renders to nothing: that is an empty list here, anything else throws. */
const renderOrEmpty = (template: string, set: string[]) =>
  renderChartTemplate(template, set).catch((e: Error) => {
    if (/could not find template/.test(e.message)) return "";
    throw e;
  });

async function render(set: string[]) {
  const monitors = objects(await renderOrEmpty("templates/servicemonitor.yaml", set));
  const services = [
    ...objects(await renderOrEmpty("templates/service.yaml", set)),
    ...objects(await renderOrEmpty("templates/monitor.yaml", set)).filter((o) => o.kind === "Service"),
  ];
  return { monitors, services };
}

const selects = (m: Obj, s: Obj) =>
  Object.entries(m.spec.selector?.matchLabels ?? {}).every(([k, v]) => s.metadata.labels?.[k] === v);

describe("chart ServiceMonitors", () => {
  it("none by default", async () => {
    expect((await render([])).monitors).toEqual([]);
  });

  it("the monitor's selects only the monitor Service, on its metrics port over https with the chart's CA, honouring its labels", async () => {
    const { monitors, services } = await render([
      "monitor.serviceMonitor.enabled=true",
      "monitor.serviceMonitor.interval=15s",
      "monitor.serviceMonitor.labels.release=kube-prometheus",
    ]);
    expect(monitors.map((m) => m.metadata.name)).toEqual(["x-medmlops-monitor"]);
    const m = monitors[0]!;
    expect(m.metadata.labels?.release).toBe("kube-prometheus");
    expect(services.filter((s) => selects(m, s)).map((s) => s.metadata.name)).toEqual(["x-medmlops-monitor"]);
    const svc = services.find((s) => s.metadata.name === "x-medmlops-monitor")!;
    expect(m.spec.endpoints).toEqual([
      {
        port: "metrics",
        path: "/metrics",
        interval: "15s",
        honorLabels: true,
        scheme: "https",
        tlsConfig: {
          serverName: "x-medmlops-monitor.default.svc",
          ca: { secret: { name: "x-medmlops-monitor-tls", key: "ca.crt" } },
        },
      },
    ]);
    expect(svc.spec.ports?.map((p) => p.name)).toEqual(["https", "metrics"]);
  });

  it("with monitor.tls.mode none (a mesh): plain http on the metrics port", async () => {
    const { monitors, services } = await render([
      "monitor.serviceMonitor.enabled=true",
      "monitor.tls.mode=none",
    ]);
    expect(monitors[0]!.spec.endpoints).toEqual([
      { port: "metrics", path: "/metrics", interval: "30s", honorLabels: true },
    ]);
    const svc = services.find((s) => s.metadata.name === "x-medmlops-monitor")!;
    expect(svc.spec.ports?.map((p) => p.name)).toEqual(["http", "metrics"]);
  });

  it("the operator's selects only the operator's metrics Service, honouring its labels", async () => {
    const { monitors, services } = await render(["metrics.serviceMonitor.enabled=true"]);
    expect(monitors.map((m) => m.metadata.name)).toEqual(["x-medmlops-operator"]);
    const m = monitors[0]!;
    expect(services.filter((s) => selects(m, s)).map((s) => s.metadata.name)).toEqual([
      "x-medmlops-operator-metrics",
    ]);
    expect(m.spec.endpoints).toEqual([
      { port: "metrics", path: "/metrics", interval: "30s", honorLabels: true },
    ]);
  });

  it("no monitor ServiceMonitor without the monitor", async () => {
    const { monitors } = await render(["monitor.enabled=false", "monitor.serviceMonitor.enabled=true"]);
    expect(monitors).toEqual([]);
  });

  it("refuses a malformed interval", async () => {
    await expect(
      renderChartTemplate("templates/servicemonitor.yaml", ["monitor.serviceMonitor.interval=soon"]),
    ).rejects.toThrow(/interval/);
  });
});
