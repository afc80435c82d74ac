import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Cache, GVK, KubeObject } from "./runtime/index.ts";
import { registerStatusMetrics } from "./status-metrics.ts";

function cacheOf(objects: Record<string, KubeObject[]>): Cache {
  return {
    get: () => undefined,
    list: <T extends KubeObject>(gvk: GVK) => {
      const list = objects[gvk.kind];
      if (!list) throw new Error("not watched");
      return list as T[];
    },
  };
}

const model = {
  metadata: { namespace: "radiology", name: "cxr" },
  status: {
    activeVersion: "v1",
    canary: { version: "v3" },
    failover: { count: 2, lastTransition: { from: "v2", to: "v1", reason: "ValidationBreach", at: "x" } },
    conditions: [
      { type: "FailedOver", status: "True", reason: "ValidationBreach" },
      { type: "Suspended", status: "True", reason: "PolicyBreach" },
    ],
  },
};
const policy = {
  metadata: { namespace: "radiology", name: "cxr-policy" },
  spec: {
    modelRef: { name: "cxr" },
    schedule: { interval: "10m" },
    metrics: [
      { name: "sensitivity", min: 0.85 },
      { name: "calibrationError", max: 0.1 },
    ],
  },
  status: {
    lastEvaluation: "2026-12-04T12:00:00Z",
    conditions: [{ type: "Ready", status: "False", reason: "MonitorUnavailable" }],
    episodes: [
      { type: "Breach", version: "v2" },
      { type: "Drift", version: "v2", endedAt: "2026-12-04T11:00:00Z" },
    ],
  },
};

async function scrape(objects: Record<string, KubeObject[]>): Promise<string> {
  const registry = new Registry();
  registerStatusMetrics(registry, cacheOf(objects));
  return registry.metrics();
}

describe("status metrics", () => {
  it("exports MedModel and ValidationPolicy status as gauges", async () => {
    const text = await scrape({ MedModel: [model], ValidationPolicy: [policy] });
    const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toEqual(
      expect.arrayContaining([
        'medmlops_medmodel_serving{namespace="radiology",model="cxr",version="v1",role="active"} 1',
        'medmlops_medmodel_serving{namespace="radiology",model="cxr",version="v3",role="canary"} 1',
        'medmlops_medmodel_failed_over{namespace="radiology",model="cxr",from="v2",to="v1",reason="ValidationBreach"} 1',
        'medmlops_medmodel_failovers{namespace="radiology",model="cxr"} 2',
        'medmlops_medmodel_suspended{namespace="radiology",model="cxr",reason="PolicyBreach"} 1',
        'medmlops_validationpolicy_breached{namespace="radiology",policy="cxr-policy",model="cxr",version="v2"} 1',
        'medmlops_validationpolicy_last_evaluation_timestamp_seconds{namespace="radiology",policy="cxr-policy",model="cxr"} 1796385600',
        'medmlops_validationpolicy_interval_seconds{namespace="radiology",policy="cxr-policy",model="cxr"} 600',
        'medmlops_validationpolicy_metric_bound{namespace="radiology",policy="cxr-policy",model="cxr",metric="sensitivity",bound="min"} 0.85',
        'medmlops_validationpolicy_metric_bound{namespace="radiology",policy="cxr-policy",model="cxr",metric="calibrationError",bound="max"} 0.1',
        'medmlops_validationpolicy_ready{namespace="radiology",policy="cxr-policy",model="cxr",reason="MonitorUnavailable"} 0',
      ]),
    );
    // a closed drift episode exports nothing
    expect(text).not.toMatch(/^medmlops_validationpolicy_drift_detected\{/m);
  });

  it("reports the interval the controller schedules: 1h for 0s, a missing or an unreadable interval", async () => {
    const withInterval = (name: string, interval: string | undefined) => ({
      metadata: { namespace: "radiology", name },
      spec: { modelRef: { name: "cxr" }, ...(interval === undefined ? {} : { schedule: { interval } }) },
    });
    const text = await scrape({
      MedModel: [],
      ValidationPolicy: [
        withInterval("zero", "0s"),
        withInterval("none", undefined),
        withInterval("garbage", "soon"),
        withInterval("fast", "90s"),
      ],
    });
    const value = (policy: string) =>
      text.match(
        new RegExp(
          `^medmlops_validationpolicy_interval_seconds\\{[^}]*policy="${policy}"[^}]*\\} (\\S+)$`,
          "m",
        ),
      )?.[1];
    expect([value("zero"), value("none"), value("garbage"), value("fast")]).toEqual([
      "3600",
      "3600",
      "3600",
      "90",
    ]);
  });

  it("drops series of objects that went away, and tolerates kinds nobody watches", async () => {
    const objects: Record<string, KubeObject[]> = { MedModel: [model], ValidationPolicy: [policy] };
    const registry = new Registry();
    registerStatusMetrics(registry, cacheOf(objects));
    expect(await registry.metrics()).toContain('model="cxr"');
    objects.MedModel = [];
    objects.ValidationPolicy = [];
    expect(await registry.metrics()).not.toContain('model="cxr"');
    expect(await scrape({})).not.toContain("radiology");
  });
});
