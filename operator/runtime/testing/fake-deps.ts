/**
 * ControllerDeps for controller unit tests: an in-memory cache, a recording client, recorded Events, a fixed
 * clock you can move, silent logs.
 *
 *   const t = fakeDeps();
 *   t.cache.put(myObject);
 *   const controller = myController(t.deps);
 *   await controller.reconciler.reconcile(key, t.context());
 *   expect(t.client.applied).toHaveLength(3);
 */
import pino from "pino";
import type { ControllerDeps, EventType, GVK, OperatorConfig, ReconcileContext } from "../types.ts";
import { MemoryCache } from "./memory-cache.ts";
import { RecordingClient } from "./recording-client.ts";

export interface RecordedEvent {
  regarding: { kind?: string; namespace?: string; name?: string };
  type: EventType;
  reason: string;
  action: string;
  note: string;
}

export interface FakeDeps {
  deps: ControllerDeps;
  cache: MemoryCache;
  client: RecordingClient;
  events: RecordedEvent[];
  /** The clock every `now()` reads; assign to move time. */
  clock: { now: Date };
  /** A ReconcileContext on the same clock. */
  context: () => ReconcileContext;
}

export function fakeDeps(
  opts: { now?: Date; served?: (gvk: GVK) => boolean; config?: Partial<OperatorConfig> } = {},
): FakeDeps {
  const cache = new MemoryCache();
  const client = new RecordingClient(cache);
  const events: RecordedEvent[] = [];
  const clock = { now: opts.now ?? new Date("2026-01-01T00:00:00Z") };
  const log = pino({ level: "silent" });
  const deps: ControllerDeps = {
    cache,
    client,
    events: {
      record: (o, type, reason, action, note) =>
        events.push({
          regarding: { kind: o.kind, namespace: o.metadata?.namespace, name: o.metadata?.name },
          type,
          reason,
          action,
          note,
        }),
    },
    log,
    now: () => clock.now,
    config: { sidecarImage: "img:1", identity: "test", ...opts.config },
    ...(opts.served ? { served: opts.served } : {}),
  };
  const context = (): ReconcileContext => ({
    signal: new AbortController().signal,
    log,
    now: () => clock.now,
  });
  return { deps, cache, client, events, clock, context };
}
