/** One dashboard per hospital (its namespaces): every model, what serves, what failed over, drift, validation. */
import type { Dashboard } from "@grafana/schema";
import { dashboard, datasourceVariable, panel, queryVariable, resetIds } from "./panels.ts";

const ns = 'namespace=~"$namespace"';

export function hospitalDashboard(): Dashboard {
  resetIds();
  return dashboard(
    "medmlops-hospital",
    "MedMLOps — hospital",
    "Every clinical model of this hospital: versions serving, failovers, suspensions, drift, validation metrics against their floors, annotation backlog and serving health. See docs/validation.md.",
    [
      datasourceVariable(),
      queryVariable("namespace", "Namespace", "label_values(medmlops_medmodel_serving, namespace)", true),
    ],
    [
      panel("stat", "Models", "MedModels with a serving version.", { x: 0, y: 0, w: 4, h: 4 }, [
        { expr: `count(count by (namespace, model) (medmlops_medmodel_serving{${ns}})) or vector(0)` },
      ]),
      panel(
        "stat",
        "Failed over now",
        "Models served by their fallback after a failover.",
        { x: 4, y: 0, w: 4, h: 4 },
        [{ expr: `count(max by (namespace, model) (medmlops_medmodel_failed_over{${ns}})) or vector(0)` }],
      ),
      panel(
        "stat",
        "Suspended now",
        "Models whose AI answers 'refer to clinician' (stop button).",
        { x: 8, y: 0, w: 4, h: 4 },
        [{ expr: `count(max by (namespace, model) (medmlops_medmodel_suspended{${ns}})) or vector(0)` }],
      ),
      panel(
        "stat",
        "Open breaches",
        "Versions with a validation metric outside its bound.",
        { x: 12, y: 0, w: 4, h: 4 },
        [
          {
            expr: `count(max by (namespace, model, version) (medmlops_validationpolicy_breached{${ns}})) or vector(0)`,
          },
        ],
      ),
      panel(
        "stat",
        "Open drift episodes",
        "Versions whose traffic drifted from their reference.",
        { x: 16, y: 0, w: 4, h: 4 },
        [
          {
            expr: `count(max by (namespace, model, version) (medmlops_validationpolicy_drift_detected{${ns}})) or vector(0)`,
          },
        ],
      ),
      panel(
        "stat",
        "Annotation backlog",
        "Cases sampled for annotation and not yet annotated.",
        { x: 20, y: 0, w: 4, h: 4 },
        [
          {
            expr: `sum(max by (namespace, model) (medmlops_monitor_annotation_backlog{${ns}})) or vector(0)`,
          },
        ],
      ),
      panel(
        "table",
        "Versions serving",
        "Which version of each model serves clinicians (active, canary).",
        { x: 0, y: 4, w: 12, h: 8 },
        [
          {
            expr: `max by (namespace, model, version, role) (medmlops_medmodel_serving{${ns}})`,
            instant: true,
          },
        ],
      ),
      panel(
        "timeseries",
        "Failovers",
        "Failovers so far per model (status.failover.count).",
        { x: 12, y: 4, w: 12, h: 8 },
        [
          {
            expr: `max by (namespace, model) (medmlops_medmodel_failovers{${ns}})`,
            legend: "{{namespace}}/{{model}}",
          },
        ],
      ),
      panel(
        "timeseries",
        "Drift by feature",
        "Drift statistic per model, version, feature and test.",
        { x: 0, y: 12, w: 12, h: 8 },
        [
          {
            expr: `max by (namespace, model, version, feature, test) (medmlops_monitor_drift_statistic{${ns}})`,
            legend: "{{model}}/{{version}} {{feature}} ({{test}})",
          },
        ],
      ),
      panel(
        "timeseries",
        "Validation metrics against floors",
        "Point estimate with its confidence band (lower and upper bound) per model, version and metric; dashed: the policy's floor.",
        { x: 12, y: 12, w: 12, h: 8 },
        [
          {
            expr: `max by (namespace, model, version, metric) (medmlops_monitor_metric_ci_low{${ns}})`,
            legend: "{{model}}/{{version}} {{metric}} low",
          },
          {
            expr: `max by (namespace, model, version, metric) (medmlops_monitor_metric_value{${ns}})`,
            legend: "{{model}}/{{version}} {{metric}}",
          },
          {
            expr: `max by (namespace, model, version, metric) (medmlops_monitor_metric_ci_high{${ns}})`,
            legend: "{{model}}/{{version}} {{metric}} high",
          },
          {
            expr: `max by (namespace, model, metric) (medmlops_validationpolicy_metric_bound{${ns}, bound="min"})`,
            legend: "{{model}} {{metric}} floor",
          },
        ],
        {
          fieldConfig: {
            defaults: { min: 0, max: 1, unit: "percentunit" },
            overrides: [
              {
                matcher: { id: "byRegexp", options: ".* floor$" },
                properties: [{ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } }],
              },
            ],
          },
        },
      ),
      panel(
        "timeseries",
        "Annotation backlog",
        "Sampled cases waiting for a reference-standard annotation.",
        { x: 0, y: 20, w: 8, h: 8 },
        [
          {
            expr: `max by (namespace, model) (medmlops_monitor_annotation_backlog{${ns}})`,
            legend: "{{namespace}}/{{model}}",
          },
        ],
      ),
      panel(
        "timeseries",
        "Requests per version",
        "Inference requests per second.",
        { x: 8, y: 20, w: 8, h: 8 },
        [
          {
            expr: `sum by (namespace, model, version) (rate(medmlops_sidecar_requests_total{${ns}}[$__rate_interval]))`,
            legend: "{{model}}/{{version}}",
          },
        ],
        { fieldConfig: { defaults: { unit: "reqps" }, overrides: [] } },
      ),
      panel(
        "timeseries",
        "Latency p95 per version",
        "95th percentile of the whole infer request.",
        { x: 16, y: 20, w: 8, h: 8 },
        [
          {
            expr: `histogram_quantile(0.95, sum by (namespace, model, version, le) (rate(medmlops_sidecar_request_duration_seconds_bucket{${ns}}[$__rate_interval])))`,
            legend: "{{model}}/{{version}}",
          },
        ],
        { fieldConfig: { defaults: { unit: "s" }, overrides: [] } },
      ),
      panel(
        "timeseries",
        "Errors per version",
        "Requests answered with a status other than 200, per second (503 while suspended).",
        { x: 0, y: 28, w: 24, h: 8 },
        [
          {
            expr: `sum by (namespace, model, version, status) (rate(medmlops_sidecar_requests_total{${ns}, status!="200"}[$__rate_interval]))`,
            legend: "{{model}}/{{version}} {{status}}",
          },
        ],
        { fieldConfig: { defaults: { unit: "reqps" }, overrides: [] } },
      ),
    ],
  );
}
