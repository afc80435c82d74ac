import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The operator's Prometheus metrics, on its own Registry (never the global one, so tests and other rooms cannot
 * collide). Labels are controller names, kinds and fixed enums only — never object names, never PHI.
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileDuration: Histogram<"controller">;
  readonly queueDepth: Gauge<"controller">;
  readonly queueLatency: Histogram<"controller">;
  readonly workDuration: Histogram<"controller">;
  readonly queueRetries: Counter<"controller">;
  readonly queueAdds: Counter<"controller">;
  readonly leader: Gauge;
  readonly informerRestarts: Counter<"kind" | "reason">;
  private readonly depthSources = new Map<string, () => number>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.reconcileTotal = new Counter({
      name: "medmlops_operator_reconcile_total",
      help: "Reconciles by controller and result (success, requeue, error).",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: "medmlops_operator_reconcile_duration_seconds",
      help: "Time spent in one reconcile.",
      labelNames: ["controller"],
      buckets,
      registers,
    });
    const sources = this.depthSources;
    this.queueDepth = new Gauge({
      name: "medmlops_operator_workqueue_depth",
      help: "Keys waiting in the work queue.",
      labelNames: ["controller"],
      registers,
      collect() {
        for (const [controller, depth] of sources) this.set({ controller }, depth());
      },
    });
    this.queueLatency = new Histogram({
      name: "medmlops_operator_workqueue_queue_duration_seconds",
      help: "Time a key waited in the work queue before a worker took it.",
      labelNames: ["controller"],
      buckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: "medmlops_operator_workqueue_work_duration_seconds",
      help: "Time a worker held a key (reconcile plus bookkeeping).",
      labelNames: ["controller"],
      buckets,
      registers,
    });
    this.queueRetries = new Counter({
      name: "medmlops_operator_workqueue_retries_total",
      help: "Keys requeued with backoff after a failed reconcile.",
      labelNames: ["controller"],
      registers,
    });
    this.queueAdds = new Counter({
      name: "medmlops_operator_workqueue_adds_total",
      help: "Keys added to the work queue by watch events.",
      labelNames: ["controller"],
      registers,
    });
    this.leader = new Gauge({
      name: "medmlops_operator_leader",
      help: "1 while this replica holds the leader lease (or runs without leader election), else 0.",
      registers,
    });
    this.informerRestarts = new Counter({
      name: "medmlops_operator_informer_restarts_total",
      help: "List/watch restarts by kind and reason (error, gone, stale, resync, closed).",
      labelNames: ["kind", "reason"],
      registers,
    });
    if (opts.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "medmlops_operator_" });
  }

  trackQueue(controller: string, depth: () => number): void {
    this.depthSources.set(controller, depth);
  }
}
