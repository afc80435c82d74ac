/** One dashboard per model (chosen with the $model variable): its versions, verdicts, drift and serving health. */
import type { Dashboard } from "@grafana/schema";
import { dashboard, datasourceVariable, panel, queryVariable, resetIds } from "./panels.ts";

const sel = 'namespace="$namespace", model="$model"';

export function modelDashboard(): Dashboard {
  resetIds();
  return dashboard(
    "medmlops-model",
    "MedMLOps — model",
    "One clinical model: which version serves, failover and suspension, validation metrics with confidence bands against floors, drift per feature, records and serving health per version. See docs/validation.md.",
    [
      datasourceVariable(),
      queryVariable("namespace", "Namespace", "label_values(medmlops_medmodel_serving, namespace)", false),
      queryVariable(
        "model",
        "Model",
        'label_values(medmlops_medmodel_serving{namespace="$namespace"}, model)',
        false,
      ),
    ],
    [
      panel("table", "Serving", "Versions that serve clinicians now.", { x: 0, y: 0, w: 8, h: 5 }, [
        { expr: `max by (version, role) (medmlops_medmodel_serving{${sel}})`, instant: true },
      ]),
      panel(
        "stat",
        "Failed over",
        "1 while the fallback serves after a failover.",
        { x: 8, y: 0, w: 4, h: 5 },
        [{ expr: `max(medmlops_medmodel_failed_over{${sel}}) or vector(0)` }],
      ),
      panel(
        "stat",
        "Suspended",
        "1 while the AI answers 'refer to clinician'.",
        { x: 12, y: 0, w: 4, h: 5 },
        [{ expr: `max(medmlops_medmodel_suspended{${sel}}) or vector(0)` }],
      ),
      panel(
        "stat",
        "Breached versions",
        "Versions with an open breach episode.",
        { x: 16, y: 0, w: 4, h: 5 },
        [{ expr: `count(max by (version) (medmlops_validationpolicy_breached{${sel}})) or vector(0)` }],
      ),
      panel("stat", "Drifted versions", "Versions with an open drift episode.", { x: 20, y: 0, w: 4, h: 5 }, [
        { expr: `count(max by (version) (medmlops_validationpolicy_drift_detected{${sel}})) or vector(0)` },
      ]),
      panel(
        "timeseries",
        "Validation metrics against floors",
        "Point estimate and confidence band per version and metric; dashed: the floor (min) and ceiling (max) of the policy.",
        { x: 0, y: 5, w: 24, h: 9 },
        [
          {
            expr: `max by (version, metric) (medmlops_monitor_metric_ci_low{${sel}})`,
            legend: "{{version}} {{metric}} low",
          },
          {
            expr: `max by (version, metric) (medmlops_monitor_metric_value{${sel}})`,
            legend: "{{version}} {{metric}}",
          },
          {
            expr: `max by (version, metric) (medmlops_monitor_metric_ci_high{${sel}})`,
            legend: "{{version}} {{metric}} high",
          },
          {
            expr: `max by (metric, bound) (medmlops_validationpolicy_metric_bound{${sel}})`,
            legend: "{{metric}} {{bound}}",
          },
        ],
        {
          fieldConfig: {
            defaults: { unit: "percentunit" },
            overrides: [
              {
                matcher: { id: "byRegexp", options: ".* (min|max)$" },
                properties: [{ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } }],
              },
            ],
          },
        },
      ),
      panel(
        "timeseries",
        "Drift statistic by feature",
        "Per version, feature and test, at each evaluation.",
        { x: 0, y: 14, w: 12, h: 8 },
        [
          {
            expr: `max by (version, feature, test) (medmlops_monitor_drift_statistic{${sel}})`,
            legend: "{{version}} {{feature}} ({{test}})",
          },
        ],
      ),
      panel(
        "timeseries",
        "Drift checks firing",
        "1 where a drift check fired at the last evaluation.",
        { x: 12, y: 14, w: 12, h: 8 },
        [
          {
            expr: `max by (version, feature, test) (medmlops_monitor_drifted{${sel}})`,
            legend: "{{version}} {{feature}} ({{test}})",
          },
        ],
      ),
      panel(
        "timeseries",
        "Requests per version",
        "Inference requests per second by status.",
        { x: 0, y: 22, w: 8, h: 8 },
        [
          {
            expr: `sum by (version, status) (rate(medmlops_sidecar_requests_total{${sel}}[$__rate_interval]))`,
            legend: "{{version}} {{status}}",
          },
        ],
        { fieldConfig: { defaults: { unit: "reqps" }, overrides: [] } },
      ),
      panel(
        "timeseries",
        "Latency p50 / p95 per version",
        "Whole infer request.",
        { x: 8, y: 22, w: 8, h: 8 },
        [
          {
            expr: `histogram_quantile(0.5, sum by (version, le) (rate(medmlops_sidecar_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`,
            legend: "{{version}} p50",
          },
          {
            expr: `histogram_quantile(0.95, sum by (version, le) (rate(medmlops_sidecar_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`,
            legend: "{{version}} p95",
          },
        ],
        { fieldConfig: { defaults: { unit: "s" }, overrides: [] } },
      ),
      panel(
        "timeseries",
        "Model state per version",
        "1 for the sidecar's current state (loading, ready, failed, suspended, draining).",
        { x: 16, y: 22, w: 8, h: 8 },
        [
          {
            expr: `max by (version, state) (medmlops_sidecar_model_state{${sel}}) == 1`,
            legend: "{{version}} {{state}}",
          },
        ],
      ),
      panel(
        "timeseries",
        "Annotation backlog",
        "Sampled cases waiting for annotation.",
        { x: 0, y: 30, w: 12, h: 8 },
        [{ expr: `max by (policy) (medmlops_monitor_annotation_backlog{${sel}})`, legend: "{{policy}}" }],
      ),
      panel(
        "timeseries",
        "Evaluation age",
        "Seconds since each policy of the model was last evaluated (alert: three intervals).",
        { x: 12, y: 30, w: 12, h: 8 },
        [
          {
            expr: `time() - max by (policy) (medmlops_validationpolicy_last_evaluation_timestamp_seconds{${sel}})`,
            legend: "{{policy}}",
          },
        ],
        { fieldConfig: { defaults: { unit: "s" }, overrides: [] } },
      ),
    ],
  );
}
