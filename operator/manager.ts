import { randomUUID } from "node:crypto";
import os from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { SharedCache } from "./runtime/cache.ts";
import { ApplyClient } from "./runtime/client.ts";
import { Controller } from "./runtime/controller.ts";
import { KubeEventRecorder } from "./runtime/events.ts";
import { startHealthServer } from "./runtime/health-server.ts";
import type { InformerOptions } from "./runtime/informer.ts";
import { LeaderElector } from "./runtime/leader-elector.ts";
import { OperatorMetrics } from "./runtime/metrics.ts";
import { registerStatusMetrics } from "./status-metrics.ts";
import { type RestClient, restClientFromKubeConfig } from "./runtime/rest.ts";
import { gvkId, keyOf } from "./runtime/gvk.ts";
import { RestMapper } from "./runtime/rest-mapper.ts";
import type { ControllerDeps, ControllerFactory, OperatorConfig } from "./runtime/types.ts";

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name. Default "medmlops-operator". */
  name?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  controllers: ControllerFactory[];
  log: Logger;
  /** 0 picks a free port (tests). */
  metricsPort: number;
  metricsHost?: string;
  leaderElection?: LeaderElectionOptions;
  informer?: Omit<InformerOptions, "log" | "onRestart" | "transform">;
  /** How long in-flight reconciles may run on shutdown before their signal aborts. Default 10 s. */
  shutdownGraceMs?: number;
}

/**
 * Wires the runtime together: one REST client, one shared cache, one apply client and event recorder, the
 * controllers from the registry, the health/metrics server and (optionally) leader election.
 * Every replica runs informers and serves /readyz once caches synced; only the leader runs workers.
 */
export class Manager {
  readonly rest: RestClient;
  readonly cache: SharedCache;
  readonly metrics = new OperatorMetrics();
  readonly controllers: Controller[] = [];
  readonly events: KubeEventRecorder;
  private readonly stopCtl = new AbortController();
  private elector: LeaderElector | undefined;
  private server: { port: number; close: () => Promise<void> } | undefined;
  private exitCode = 0;
  private stopping: Promise<void> | undefined;
  private resolveDone!: (code: number) => void;
  /** Resolves with the process exit code once the manager stopped: 0 after stop(), 1 after losing the lease. */
  readonly done: Promise<number>;
  private workersStarted = false;
  private readonly mapper: RestMapper;
  /** `optionalOwns` kinds the API server serves (decided in start(), before the caches start). */
  private readonly servedOptional = new Set<string>();

  constructor(private readonly o: ManagerOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.rest = restClientFromKubeConfig(o.kubeConfig);
    this.cache = new SharedCache(this.rest, {
      namespace: o.config.namespace,
      log: o.log.child({ component: "informer" }),
      informer: o.informer,
      onRestart: (kind, reason) => this.metrics.informerRestarts.inc({ kind, reason }),
    });
    // MedModel and ValidationPolicy status as gauges for the PrometheusRules and dashboards (read at scrape time).
    registerStatusMetrics(this.metrics.registry, this.cache);
    const mapper = new RestMapper(this.rest);
    this.mapper = mapper;
    this.events = new KubeEventRecorder(this.rest, o.config.identity, o.log.child({ component: "events" }));
    const deps: ControllerDeps = {
      cache: this.cache,
      client: new ApplyClient(this.rest, mapper),
      events: this.events,
      log: o.log,
      now: () => new Date(),
      config: o.config,
      served: (gvk) => this.servedOptional.has(gvkId(gvk)),
    };
    const scope = o.config.namespaces ? new Set(o.config.namespaces) : undefined;
    for (const factory of o.controllers) {
      const spec = factory(deps);
      for (const gvk of [spec.for, ...(spec.owns ?? []), ...(spec.watches ?? []).map((w) => w.gvk)]) {
        mapper.register(gvk);
      }
      const workers = o.config.workers ?? spec.workers;
      this.controllers.push(
        new Controller(
          { ...spec, ...(workers ? { workers } : {}) },
          this.cache,
          this.metrics,
          o.log,
          {},
          scope,
        ),
      );
    }
  }

  get port(): number | undefined {
    return this.server?.port;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.workersStarted;
  }

  async start(): Promise<void> {
    const log = this.o.log;
    this.server = await startHealthServer({
      port: this.o.metricsPort,
      host: this.o.metricsHost,
      metrics: this.metrics,
      healthy: () => !this.stopCtl.signal.aborted,
      ready: () => this.cache.hasSynced(),
    });
    log.info({ port: this.server.port }, "health and metrics server listening");
    await this.watchServedOptionalKinds();
    // stop() may have come while discovery ran: do not start informers on a stopped manager.
    if (this.stopCtl.signal.aborted) return;
    this.cache.start();
    const le = this.o.leaderElection;
    if (!le) {
      // Resolve start() on shutdown too: caches that never sync (API server down) must not block SIGTERM.
      await Promise.race([this.cache.waitForSync(), abortedPromise(this.stopCtl.signal)]);
      if (!this.stopCtl.signal.aborted) this.startWorkers();
      return;
    }
    this.metrics.leader.set(0);
    this.elector = new LeaderElector({
      rest: this.rest,
      namespace: le.namespace,
      name: le.name ?? "medmlops-operator",
      identity: `${this.o.config.identity}_${randomUUID().slice(0, 8)}`,
      log: log.child({ component: "leader-election" }),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.cache.waitForSync().then(() => {
          if (!this.stopCtl.signal.aborted) this.startWorkers();
        });
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        // A replica that lost the lease may race the new leader: stop at once and exit non-zero so the
        // kubelet restarts it as a clean standby.
        this.exitCode = 1;
        void this.stop();
      },
    });
    void this.elector.run(this.stopCtl.signal);
  }

  /**
   * Optional child kinds (ControllerSpec.optionalOwns) are watched only when discovery finds them: an informer on
   * a kind the cluster does not serve would never sync and /readyz would stay false. A discovery error other
   * than 404 is retried a few times, then the kind counts as not served (installing it later needs a restart).
   */
  private async watchServedOptionalKinds(): Promise<void> {
    for (const c of this.controllers) {
      for (const gvk of c.spec.optionalOwns ?? []) {
        let served = false;
        for (let attempt = 1; ; attempt++) {
          try {
            served = await this.mapper.served(gvk);
            break;
          } catch (err) {
            if (attempt >= 3 || this.stopCtl.signal.aborted) {
              this.o.log.warn(
                { kind: gvk.kind, err: String(err) },
                "discovery failed; treating kind as not served",
              );
              break;
            }
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
        this.o.log.info({ kind: gvk.kind, group: gvk.group, served }, "optional child kind");
        if (!served) continue;
        this.mapper.register(gvk);
        this.servedOptional.add(gvkId(gvk));
        c.watchOwned(gvk);
      }
    }
  }

  /**
   * Enqueues every cached object of the named controllers' primary kinds, as a resync would, now: for a change
   * outside the cluster that their children depend on (the monitor CA the operator hands to models). Before the
   * caches synced it does nothing — their first list enqueues every object anyway. Returns the keys enqueued.
   */
  requeueAll(controllers: readonly string[]): number {
    if (!this.cache.hasSynced()) return 0;
    let n = 0;
    for (const c of this.controllers) {
      if (!controllers.includes(c.spec.name)) continue;
      for (const obj of this.cache.list(c.spec.for)) {
        c.enqueue(keyOf(obj));
        n++;
      }
    }
    return n;
  }

  private startWorkers(): void {
    this.workersStarted = true;
    this.metrics.leader.set(1);
    for (const c of this.controllers) c.start();
    this.o.log.info({ controllers: this.controllers.map((c) => c.spec.name) }, "controllers running");
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const log = this.o.log;
    log.info({ exitCode: this.exitCode }, "shutting down");
    this.stopCtl.abort();
    // After losing the lease another replica may already act: abort in-flight reconciles at once.
    const grace = this.exitCode === 0 ? (this.o.shutdownGraceMs ?? 10_000) : 0;
    await Promise.all(this.controllers.map((c) => c.stop(grace)));
    if (this.exitCode === 0) await this.elector?.release();
    this.metrics.leader.set(0);
    await this.events.flush();
    await this.cache.stop();
    await this.server?.close();
    log.info("stopped");
    this.resolveDone(this.exitCode);
  }
}

/** The name this replica reports as (events' reportingInstance, lease holder prefix). */
export function defaultIdentity(): string {
  return process.env["POD_NAME"] || os.hostname();
}

function abortedPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
