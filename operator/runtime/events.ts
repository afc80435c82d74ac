import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { EventDeduper } from "./event-dedupe.ts";
import { Kinds, collectionPath, objectPath } from "./gvk.ts";
import { errorSummary } from "./informer.ts";
import type { RestClient } from "./rest.ts";
import { type EventRecorder, type EventType, type KubeObject, REPORTING_CONTROLLER } from "./types.ts";

/** metav1.MicroTime. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, "000Z");
}

const MAX_NOTE = 1024; // API server limit for events.k8s.io/v1 note

/**
 * Writes events.k8s.io/v1 Events, fire-and-forget (a failed Event never fails a reconcile), with dedupe into
 * Event series and an overall rate limit. Callers must keep PHI out of `note`.
 */
export class KubeEventRecorder implements EventRecorder {
  private readonly dedupe = new EventDeduper();

  constructor(
    private readonly rest: RestClient,
    private readonly reportingInstance: string,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Resolves when the writes issued so far are done (tests). */
    private inflight: Promise<unknown> = Promise.resolve(),
  ) {}

  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace || "default";
    const key = [meta.uid ?? `${namespace}/${meta.name}`, type, reason, action, note].join("\u0000");
    const now = this.now();
    const decision = this.dedupe.decide(key, now.getTime());
    if (decision.action === "drop") return;
    const write =
      decision.action === "create"
        ? this.create(key, namespace, regarding, type, reason, action, note, now)
        : this.rest.request("PATCH", objectPath(Kinds.Event, { namespace, name: decision.name }), {
            contentType: "application/merge-patch+json",
            body: { series: { count: decision.count, lastObservedTime: microTime(now) } },
            timeoutMs: 10_000,
          });
    this.inflight = Promise.all([this.inflight, write.catch((err) => this.failed(err, reason))]);
  }

  /** For tests and shutdown: wait for pending writes. */
  flush(): Promise<unknown> {
    return this.inflight;
  }

  private async create(
    key: string,
    namespace: string,
    regarding: KubeObject,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    now: Date,
  ): Promise<void> {
    const meta = regarding.metadata ?? {};
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `${meta.name ?? "object"}.${randomBytes(8).toString("hex")}`.slice(-253), namespace },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.reportingInstance.slice(0, 128),
      type,
      reason: reason.slice(0, 128),
      action: action.slice(0, 128),
      note: note.length > MAX_NOTE ? `${note.slice(0, MAX_NOTE - 3)}...` : note,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
    };
    const created = await this.rest.request<KubeObject>("POST", collectionPath(Kinds.Event, namespace), {
      body,
      timeoutMs: 10_000,
    });
    if (created.metadata?.name) this.dedupe.created(key, created.metadata.name);
  }

  private failed(err: unknown, reason: string): void {
    this.log.warn({ err: errorSummary(err), reason }, "could not write Event");
  }
}
