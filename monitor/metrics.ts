import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The monitor's Prometheus metrics. Label values come only from configuration — policy, model and version
 * names from the ValidationPolicy and the evaluate request, features and tests from the policy's checks, stable
 * error codes — never from a record's content (no site, no manufacturer, no case id, no pseudonym).
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: "medmlops_monitor_" });
  const m = {
    registry,
    recordsAccepted: new Counter({
      name: "medmlops_monitor_records_accepted_total",
      help: "Records stored (or already stored by an earlier try of the same batch).",
      registers: [registry],
    }),
    recordsExcluded: new Counter({
      name: "medmlops_monitor_records_excluded_total",
      help: "Records not stored because the patient's consent denies quality monitoring (HQUALIMP).",
      registers: [registry],
    }),
    recordsRejected: new Counter({
      name: "medmlops_monitor_records_rejected_total",
      help: "Records rejected as invalid, by stable code.",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    annotationsAccepted: new Counter({
      name: "medmlops_monitor_annotations_accepted_total",
      help: "Annotations stored.",
      registers: [registry],
    }),
    annotationsRejected: new Counter({
      name: "medmlops_monitor_annotations_rejected_total",
      help: "Annotations rejected as invalid, by stable code.",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    annotationBacklog: new Gauge({
      name: "medmlops_monitor_annotation_backlog",
      help: "Cases sampled for annotation and not yet annotated, per policy's model (at its last evaluation).",
      labelNames: ["namespace", "policy", "model"] as const,
      registers: [registry],
    }),
    driftStatistic: new Gauge({
      name: "medmlops_monitor_drift_statistic",
      help: "Drift test statistic at the last evaluation.",
      labelNames: ["namespace", "policy", "model", "version", "feature", "test"] as const,
      registers: [registry],
    }),
    drifted: new Gauge({
      name: "medmlops_monitor_drifted",
      help: "1 when the drift check fired at the last evaluation, else 0.",
      labelNames: ["namespace", "policy", "model", "version", "feature", "test"] as const,
      registers: [registry],
    }),
    metricValue: new Gauge({
      name: "medmlops_monitor_metric_value",
      help: "Validation metric point estimate (whole population) at the last evaluation.",
      labelNames: ["namespace", "policy", "model", "version", "metric"] as const,
      registers: [registry],
    }),
    metricCiLow: new Gauge({
      name: "medmlops_monitor_metric_ci_low",
      help: "Lower confidence bound of the validation metric.",
      labelNames: ["namespace", "policy", "model", "version", "metric"] as const,
      registers: [registry],
    }),
    metricCiHigh: new Gauge({
      name: "medmlops_monitor_metric_ci_high",
      help: "Upper confidence bound of the validation metric.",
      labelNames: ["namespace", "policy", "model", "version", "metric"] as const,
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: "medmlops_monitor_retention_deleted_total",
      help: "Rows deleted by the retention sweep (--retention-days), by table (records, annotations).",
      labelNames: ["table"] as const,
      registers: [registry],
    }),
    evaluationDuration: new Histogram({
      name: "medmlops_monitor_evaluation_duration_seconds",
      help: "Time to evaluate one policy.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
  return m;
}

export type MonitorMetrics = ReturnType<typeof createMetrics>;
