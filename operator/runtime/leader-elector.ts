import type { Logger } from "pino";
import { microTime } from "./events.ts";
import { Kinds, collectionPath, objectPath } from "./gvk.ts";
import { errorSummary } from "./informer.ts";
import {
  type LeaseRecord,
  type Observation,
  decideLease,
  leadershipLost,
  observe,
} from "./lease-decision.ts";
import { ApiError, isNotFound, type RestClient } from "./rest.ts";
import type { KubeObject } from "./types.ts";

export interface LeaderElectorOptions {
  rest: RestClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Called once when leadership is lost (renewal failed past the deadline, or another holder appeared). */
  onStoppedLeading: () => void;
}

type Lease = KubeObject & { spec?: LeaseRecord };

/**
 * Leader election on a coordination.k8s.io/v1 Lease (controller-runtime's defaults: 15 s lease, 10 s renew
 * deadline, 2 s retry). Writes use the Lease's resourceVersion, so two replicas can never both win a round.
 * The decisions are in lease-decision.ts; this file only does the I/O.
 */
export class LeaderElector {
  private leading = false;
  private observation: Observation | undefined;
  private lastRenewMs = 0;
  private lastLease: Lease | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Runs until `signal` aborts or leadership is lost. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const stillOk = await this.tryOnce(signal);
      if (this.leading && (!stillOk || leadershipLost(this.lastRenewMs, Date.now(), this.renewDeadlineMs))) {
        this.leading = false;
        this.o.log.error({ lease: this.o.name }, "leadership lost");
        this.o.onStoppedLeading();
        return;
      }
      const jitter = this.leading ? 1 : 1 + Math.random() * 0.2;
      await sleep(this.retryPeriodMs * jitter, signal);
    }
  }

  /** One round. Returns false only when, while leading, the lease turned out to be held by someone else. */
  private async tryOnce(signal: AbortSignal): Promise<boolean> {
    const now = Date.now();
    const timeoutMs = Math.max(1_000, this.renewDeadlineMs / 2);
    const path = objectPath(Kinds.Lease, { namespace: this.o.namespace, name: this.o.name });
    try {
      let lease: Lease | undefined;
      try {
        lease = await this.o.rest.request<Lease>("GET", path, { signal, timeoutMs });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (lease?.spec) this.observation = observe(this.observation, lease.spec, now);
      const decision = decideLease({
        lease: lease ? (lease.spec ?? {}) : undefined,
        identity: this.o.identity,
        observation: this.observation,
        nowMs: now,
        leaseDurationMs: this.leaseDurationMs,
      });
      const t = microTime(new Date(now));
      const durationSec = Math.round(this.leaseDurationMs / 1000);
      switch (decision.action) {
        case "wait":
          return !this.leading; // we thought we led, but someone else holds it
        case "create":
          this.lastLease = await this.o.rest.request<Lease>(
            "POST",
            collectionPath(Kinds.Lease, this.o.namespace),
            {
              signal,
              timeoutMs,
              body: {
                apiVersion: "coordination.k8s.io/v1",
                kind: "Lease",
                metadata: { name: this.o.name, namespace: this.o.namespace },
                spec: {
                  holderIdentity: this.o.identity,
                  leaseDurationSeconds: durationSec,
                  acquireTime: t,
                  renewTime: t,
                  leaseTransitions: 0,
                },
              },
            },
          );
          break;
        case "acquire":
        case "renew": {
          const spec = lease!.spec ?? {};
          const acquiring = decision.action === "acquire";
          this.lastLease = await this.o.rest.request<Lease>("PUT", path, {
            signal,
            timeoutMs,
            body: {
              ...lease,
              spec: {
                ...spec,
                holderIdentity: this.o.identity,
                leaseDurationSeconds: durationSec,
                renewTime: t,
                ...(acquiring ? { acquireTime: t, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
              },
            },
          });
          if (acquiring)
            this.o.log.info(
              { lease: this.o.name, previousHolder: decision.previousHolder },
              "lease taken over",
            );
          break;
        }
      }
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.o.log.info({ lease: this.o.name, identity: this.o.identity }, "became leader");
        this.o.onStartedLeading();
      }
    } catch (err) {
      if (signal.aborted) return true;
      const conflict = err instanceof ApiError && (err.status === 409 || err.status === 422);
      (conflict ? this.o.log.debug : this.o.log.warn).call(
        this.o.log,
        { lease: this.o.name, err: errorSummary(err) },
        conflict ? "lost a lease race" : "lease round failed",
      );
    }
    return true;
  }

  /** Gives the lease up (empty holder, 1 s duration) so another replica takes over at once. Best effort. */
  async release(): Promise<void> {
    if (!this.leading || !this.lastLease) return;
    this.leading = false;
    const t = microTime(new Date());
    try {
      await this.o.rest.request(
        "PUT",
        objectPath(Kinds.Lease, { namespace: this.o.namespace, name: this.o.name }),
        {
          timeoutMs: 5_000,
          body: {
            ...this.lastLease,
            spec: {
              ...this.lastLease.spec,
              holderIdentity: "",
              leaseDurationSeconds: 1,
              renewTime: t,
              acquireTime: t,
            },
          },
        },
      );
      this.o.log.info({ lease: this.o.name }, "lease released");
    } catch (err) {
      this.o.log.warn({ lease: this.o.name, err: errorSummary(err) }, "could not release lease");
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
