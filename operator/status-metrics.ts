/**
 * Prometheus gauges read from MedModel and ValidationPolicy status at scrape time (as kube-state-metrics does
 * for built-in kinds): the status each controller writes is the one source of truth, so alerts and dashboards
 * can never disagree with `kubectl get`. Every replica has the informer cache, so every replica exports the
 * same values: rules aggregate with max by (…).
 *
 * Labels are namespace, object names, version names, metric names and condition reasons — configuration
 * chosen by the hospital, never record content or patient data.
 */
import { Gauge, type Registry } from "prom-client";
import { GROUP, VERSION } from "../crds/common.ts";
import { intervalMs } from "./validationpolicy/schedule.ts";
import type { Cache, GVK, KubeObject } from "./runtime/index.ts";

const MEDMODEL: GVK = { group: GROUP, version: VERSION, kind: "MedModel", plural: "medmodels" };
const POLICY: GVK = {
  group: GROUP,
  version: VERSION,
  kind: "ValidationPolicy",
  plural: "validationpolicies",
};

interface Cond {
  type: string;
  status: string;
  reason?: string;
}
interface ModelObj extends KubeObject {
  status?: {
    activeVersion?: string;
    canary?: { version: string };
    conditions?: Cond[];
    failover?: { count?: number; lastTransition?: { from: string; to: string; reason: string } };
  };
}
interface PolicyObj extends KubeObject {
  spec?: {
    modelRef?: { name?: string };
    schedule?: { interval?: string };
    metrics?: { name: string; min?: number; max?: number }[];
  };
  status?: {
    lastEvaluation?: string;
    conditions?: Cond[];
    episodes?: { type: string; version: string; endedAt?: string; actions?: string[]; resumed?: unknown }[];
  };
}

const cond = (c: Cond[] | undefined, type: string) => c?.find((x) => x.type === type);

/** Registers the gauges on `registry`; values are recomputed from `cache` on every scrape. */
export function registerStatusMetrics(registry: Registry, cache: Cache): void {
  const registers = [registry];
  // A kind no controller watches is not in the cache (list throws): export nothing for it.
  const safeList = <T extends KubeObject>(gvk: GVK): T[] => {
    try {
      return cache.list<T>(gvk);
    } catch {
      return [];
    }
  };
  const models = () => safeList<ModelObj>(MEDMODEL);
  const policies = () => safeList<PolicyObj>(POLICY);
  const ids = (o: KubeObject) => ({ namespace: o.metadata?.namespace ?? "", name: o.metadata?.name ?? "" });

  new Gauge({
    name: "medmlops_medmodel_serving",
    help: "1 for each version of a MedModel that serves clinicians (status.activeVersion, a canary's version).",
    labelNames: ["namespace", "model", "version", "role"],
    registers,
    collect() {
      this.reset();
      for (const m of models()) {
        const { namespace, name } = ids(m);
        const active = m.status?.activeVersion;
        if (active) this.set({ namespace, model: name, version: active, role: "active" }, 1);
        const canary = m.status?.canary?.version;
        if (canary && canary !== active)
          this.set({ namespace, model: name, version: canary, role: "canary" }, 1);
      }
    },
  });
  new Gauge({
    name: "medmlops_medmodel_failed_over",
    help: "1 while a MedModel serves its fallback after a failover (condition FailedOver), by reason.",
    labelNames: ["namespace", "model", "from", "to", "reason"],
    registers,
    collect() {
      this.reset();
      for (const m of models()) {
        const { namespace, name } = ids(m);
        if (cond(m.status?.conditions, "FailedOver")?.status !== "True") continue;
        const t = m.status?.failover?.lastTransition;
        this.set(
          { namespace, model: name, from: t?.from ?? "", to: t?.to ?? "", reason: t?.reason ?? "" },
          1,
        );
      }
    },
  });
  new Gauge({
    name: "medmlops_medmodel_failovers",
    help: "Failovers of a MedModel so far (status.failover.count).",
    labelNames: ["namespace", "model"],
    registers,
    collect() {
      this.reset();
      for (const m of models()) {
        const { namespace, name } = ids(m);
        this.set({ namespace, model: name }, m.status?.failover?.count ?? 0);
      }
    },
  });
  new Gauge({
    name: "medmlops_medmodel_suspended",
    help: "1 while a MedModel is suspended (sidecars answer 503, refer to clinician), by reason.",
    labelNames: ["namespace", "model", "reason"],
    registers,
    collect() {
      this.reset();
      for (const m of models()) {
        const { namespace, name } = ids(m);
        const c = cond(m.status?.conditions, "Suspended");
        if (c?.status === "True") this.set({ namespace, model: name, reason: c.reason ?? "" }, 1);
      }
    },
  });

  const policyLabels = ["namespace", "policy", "model"] as const;
  const episodeGauge = (name: string, type: string, help: string) =>
    new Gauge({
      name,
      help,
      labelNames: [...policyLabels, "version"],
      registers,
      collect() {
        this.reset();
        for (const p of policies()) {
          const { namespace, name: policy } = ids(p);
          const model = p.spec?.modelRef?.name ?? "";
          for (const e of p.status?.episodes ?? [])
            if (e.type === type && e.endedAt === undefined)
              this.set({ namespace, policy, model, version: e.version }, 1);
        }
      },
    });
  episodeGauge(
    "medmlops_validationpolicy_breached",
    "Breach",
    "1 while a breach episode is open for the version (a metric's confidence bound is outside its floor or ceiling).",
  );
  episodeGauge(
    "medmlops_validationpolicy_drift_detected",
    "Drift",
    "1 while a drift episode is open for the version.",
  );
  new Gauge({
    name: "medmlops_validationpolicy_last_evaluation_timestamp_seconds",
    help: "When the policy was last evaluated (status.lastEvaluation), Unix seconds.",
    labelNames: [...policyLabels],
    registers,
    collect() {
      this.reset();
      for (const p of policies()) {
        const { namespace, name: policy } = ids(p);
        const at = Date.parse(p.status?.lastEvaluation ?? "");
        if (!Number.isNaN(at))
          this.set({ namespace, policy, model: p.spec?.modelRef?.name ?? "" }, at / 1000);
      }
    },
  });
  new Gauge({
    name: "medmlops_validationpolicy_interval_seconds",
    help: "Seconds between the policy's evaluations, as the controller schedules them (spec.schedule.interval; 1h when it is 0 or unreadable).",
    labelNames: [...policyLabels],
    registers,
    collect() {
      this.reset();
      for (const p of policies()) {
        const { namespace, name: policy } = ids(p);
        // The controller's own rule (schedule.ts), so MedModelValidationStale's "3 intervals" is the real cadence.
        const ms = intervalMs(p.spec?.schedule?.interval);
        this.set({ namespace, policy, model: p.spec?.modelRef?.name ?? "" }, ms / 1000);
      }
    },
  });
  new Gauge({
    name: "medmlops_validationpolicy_metric_bound",
    help: "A metric's floor (bound=min) or ceiling (bound=max) from the policy's spec.",
    labelNames: [...policyLabels, "metric", "bound"],
    registers,
    collect() {
      this.reset();
      for (const p of policies()) {
        const { namespace, name: policy } = ids(p);
        const model = p.spec?.modelRef?.name ?? "";
        for (const m of p.spec?.metrics ?? []) {
          if (m.min !== undefined)
            this.set({ namespace, policy, model, metric: m.name, bound: "min" }, m.min);
          if (m.max !== undefined)
            this.set({ namespace, policy, model, metric: m.name, bound: "max" }, m.max);
        }
      }
    },
  });
  new Gauge({
    name: "medmlops_validationpolicy_ready",
    help: "1 when the policy's Ready condition is True, else 0, with its reason (e.g. MonitorUnavailable).",
    labelNames: [...policyLabels, "reason"],
    registers,
    collect() {
      this.reset();
      for (const p of policies()) {
        const { namespace, name: policy } = ids(p);
        const c = cond(p.status?.conditions, "Ready");
        if (!c) continue;
        this.set(
          { namespace, policy, model: p.spec?.modelRef?.name ?? "", reason: c.reason ?? "" },
          c.status === "True" ? 1 : 0,
        );
      }
    },
  });
}
