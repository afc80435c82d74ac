/**
 * Sends the monitor one Record per answered request, without ever delaying or failing an inference:
 * `enqueue` is a constant-time push into a bounded ring buffer; a timer (unref'd) posts batches of up to
 * `batch` records with the monitor client, one POST at a time. When the monitor is down the batch goes back to
 * the front of the queue and the next attempt backs off (1 s doubling to 30 s); when the queue is full the oldest
 * record is dropped and counted (`medmlops_sidecar_monitor_dropped_total{reason="overflow"}`). A batch the
 * monitor refuses as a whole (4xx) is dropped and counted (`reason="refused"`) — resending it cannot help.
 * Records the monitor rejects one by one are counted in `medmlops_sidecar_monitor_records_total{outcome}`.
 * A 401/403 (this sidecar's client certificate or token is not accepted) is a configuration fault that a rotated
 * credential can mend: the batch is kept and retried with backoff like an outage, and logged as a warning.
 */
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { type ClientTlsFiles, MonitorClient, MonitorError, type MonitorRecord } from "../monitor/client.ts";

export interface MonitorEmitterOptions {
  url: string;
  /** Most records per POST (default 500). */
  batch?: number;
  /** Most records held while the monitor is slow or down (default 10,000; oldest dropped first). */
  capacity?: number;
  /** Longest a record waits for its batch to fill (default 1000 ms). */
  flushMs?: number;
  /** Per-POST timeout (default 5000 ms). */
  timeoutMs?: number;
  logger: Logger;
  registry: Registry;
  labels: { model: string; version: string };
  fetch?: typeof fetch;
  /** CA, client certificate and/or token for an https:// or credential-checking monitor. */
  tls?: ClientTlsFiles;
}

const MAX_BACKOFF_MS = 30_000;

export class MonitorEmitter {
  readonly batch: number;
  readonly capacity: number;
  private readonly ring: (MonitorRecord | undefined)[];
  private head = 0;
  private size = 0;
  private posting = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private closed = false;
  private readonly client: MonitorClient;
  private readonly flushMs: number;
  private readonly dropped: Counter<"model" | "version" | "reason">;
  private readonly records: Counter<"model" | "version" | "outcome">;
  private readonly queued: Gauge<"model" | "version">;
  private idle: (() => void)[] = [];
  private current: Promise<void> | undefined;

  constructor(private readonly opts: MonitorEmitterOptions) {
    this.batch = opts.batch ?? 500;
    this.capacity = Math.max(this.batch, opts.capacity ?? 10_000);
    this.flushMs = opts.flushMs ?? 1000;
    this.ring = new Array(this.capacity);
    this.client = new MonitorClient(opts.url, {
      timeoutMs: opts.timeoutMs ?? 5000,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    const r = [opts.registry];
    this.dropped = new Counter({
      name: "medmlops_sidecar_monitor_dropped_total",
      help: "Monitor records dropped: the queue was full while the monitor was slow or down (overflow), or the monitor refused a batch (refused)",
      labelNames: ["model", "version", "reason"],
      registers: r,
    });
    this.records = new Counter({
      name: "medmlops_sidecar_monitor_records_total",
      help: "Monitor records delivered, by the monitor's answer (accepted, excluded by consent, rejected)",
      labelNames: ["model", "version", "outcome"],
      registers: r,
    });
    this.queued = new Gauge({
      name: "medmlops_sidecar_monitor_queue",
      help: "Monitor records waiting to be sent",
      labelNames: ["model", "version"],
      registers: r,
      collect: () => this.queued.set(opts.labels, this.size),
    });
    for (const reason of ["overflow", "refused"]) this.dropped.inc({ ...opts.labels, reason }, 0);
  }

  /** Number of records waiting. */
  get pending(): number {
    return this.size;
  }

  /** Queues a record; drops the oldest when full. Never throws, never waits. */
  enqueue(record: MonitorRecord): void {
    if (this.closed) return;
    if (this.size === this.capacity) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      this.dropped.inc({ ...this.opts.labels, reason: "overflow" });
    }
    this.ring[(this.head + this.size) % this.capacity] = record;
    this.size++;
    if (this.size >= this.batch && !this.posting && this.backoffMs === 0) {
      // A full batch goes now rather than at the end of the flush interval.
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.schedule(0);
    } else this.schedule(this.backoffMs || this.flushMs);
  }

  private schedule(ms: number): void {
    if (this.timer || this.posting) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  private take(): MonitorRecord[] {
    const n = Math.min(this.batch, this.size);
    const out = new Array<MonitorRecord>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.size -= n;
    return out;
  }

  /** Puts a batch back at the front (its records are the oldest), dropping the oldest that no longer fit. */
  private giveBack(batch: MonitorRecord[]): void {
    const room = this.capacity - this.size;
    const keep = batch.length <= room ? batch : batch.slice(batch.length - room);
    if (keep.length < batch.length)
      this.dropped.inc({ ...this.opts.labels, reason: "overflow" }, batch.length - keep.length);
    for (let i = keep.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.ring[this.head] = keep[i];
      this.size++;
    }
  }

  /** Sends what is queued, one batch after another, until empty or the monitor fails (joins a flush under way). */
  flush(): Promise<void> {
    this.current ??= this.send().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async send(): Promise<void> {
    this.posting = true;
    try {
      while (this.size > 0) {
        const batch = this.take();
        try {
          const res = await this.client.postRecords(batch);
          this.backoffMs = 0;
          const l = this.opts.labels;
          this.records.inc({ ...l, outcome: "accepted" }, res.accepted);
          this.records.inc({ ...l, outcome: "excluded" }, res.excluded);
          this.records.inc({ ...l, outcome: "rejected" }, res.rejected.length);
          if (res.rejected.length > 0)
            this.opts.logger.warn(
              { codes: [...new Set(res.rejected.map((r) => r.code))] },
              "monitor rejected records",
            );
        } catch (err) {
          const credentialRefused = err instanceof MonitorError && (err.status === 401 || err.status === 403);
          if (credentialRefused)
            this.opts.logger.warn(
              { status: err.status, code: err.code },
              "the monitor refused this sidecar's credential; records are kept and retried",
            );
          else if (err instanceof MonitorError && err.status >= 400 && err.status < 500) {
            this.dropped.inc({ ...this.opts.labels, reason: "refused" }, batch.length);
            this.opts.logger.warn(
              { status: err.status, code: err.code },
              "monitor refused a batch of records",
            );
            continue;
          }
          this.giveBack(batch);
          this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : 1000);
          this.opts.logger.debug({ backoffMs: this.backoffMs, queued: this.size }, "monitor unavailable");
          break;
        }
      }
    } finally {
      this.posting = false;
      if (this.size > 0 && !this.closed) this.schedule(this.backoffMs || this.flushMs);
      if (this.size === 0) for (const w of this.idle.splice(0)) w();
    }
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  drained(): Promise<void> {
    if (this.size === 0 && !this.posting) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** One last attempt to send what is queued (bounded by graceMs), then stop. */
  async close(graceMs = 2000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.backoffMs = 0;
    const last = this.flush();
    await Promise.race([last, new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.closed = true;
  }
}
