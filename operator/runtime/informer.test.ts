import pino from "pino";
import { describe, expect, it } from "vitest";
import { Informer, type RestartReason } from "./informer.ts";
import type { ListResult, ListerWatcher, WatchEvent } from "./list-watch.ts";
import { ApiError } from "./rest.ts";
import type { Change } from "./store.ts";
import type { KubeObject } from "./types.ts";

const log = pino({ level: "silent" });

function obj(name: string, rv: string): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "ns", name, resourceVersion: rv } };
}

/** A scripted API server: each list/watch call takes the next step. */
class ScriptedLW implements ListerWatcher {
  lists = 0;
  watches: string[] = [];
  constructor(
    private readonly listSteps: Array<() => ListResult>,
    private readonly watchSteps: Array<
      (emit: (ev: WatchEvent) => void, signal: AbortSignal) => Promise<void>
    >,
  ) {}
  async list(): Promise<ListResult> {
    const step = this.listSteps[Math.min(this.lists, this.listSteps.length - 1)]!;
    this.lists++;
    return step();
  }
  watch(rv: string, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const step = this.watchSteps[Math.min(this.watches.length, this.watchSteps.length - 1)]!;
    this.watches.push(rv);
    return step(onEvent, signal);
  }
}

const hang = (_e: unknown, signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
}

function collect(inf: Informer) {
  const seen: Array<[Change["type"], string]> = [];
  inf.on((c) => seen.push([c.type, c.object.metadata?.name ?? ""]));
  return seen;
}

describe("Informer", () => {
  it("lists, syncs, then applies watch events from the list's resourceVersion", async () => {
    const lw = new ScriptedLW(
      [() => ({ items: [obj("a", "1")], resourceVersion: "10" })],
      [
        async (emit, signal) => {
          emit({ type: "ADDED", object: obj("b", "11") });
          emit({ type: "MODIFIED", object: obj("a", "12") });
          emit({ type: "MODIFIED", object: obj("a", "12") }); // same rv: no change
          emit({ type: "DELETED", object: obj("b", "13") });
          emit({ type: "BOOKMARK", object: { metadata: { resourceVersion: "14" } } });
          await hang(undefined, signal);
        },
      ],
    );
    const inf = new Informer("cm", lw, { log });
    const seen = collect(inf);
    inf.start();
    await inf.waitForSync();
    await until(() => seen.length === 4);
    expect(seen).toEqual([
      ["added", "a"],
      ["added", "b"],
      ["updated", "a"],
      ["deleted", "b"],
    ]);
    expect(lw.watches[0]).toBe("10");
    expect(inf.store.list().map((o) => o.metadata?.resourceVersion)).toEqual(["12"]);
    await inf.stop();
  });

  it("resumes from the last resourceVersion after a watch error, with backoff", async () => {
    const restarts: RestartReason[] = [];
    const lw = new ScriptedLW(
      [() => ({ items: [], resourceVersion: "5" })],
      [
        async (emit) => {
          emit({ type: "ADDED", object: obj("a", "6") });
          throw new Error("connection reset");
        },
        async () => {
          throw new ApiError(500, "InternalError", "boom");
        },
        hang,
      ],
    );
    const inf = new Informer("cm", lw, { log, backoffBaseMs: 5, onRestart: (r) => restarts.push(r) });
    inf.start();
    await until(() => lw.watches.length === 3);
    expect(lw.watches).toEqual(["5", "6", "6"]);
    expect(lw.lists).toBe(1);
    expect(restarts).toEqual(["error", "error"]);
    await inf.stop();
  });

  it("relists after 410 Gone (HTTP status or watch ERROR event), deleting what vanished meanwhile", async () => {
    const lw = new ScriptedLW(
      [
        () => ({ items: [obj("a", "1"), obj("b", "1")], resourceVersion: "1" }),
        () => ({ items: [obj("a", "1")], resourceVersion: "50" }),
        () => ({ items: [obj("a", "1")], resourceVersion: "60" }),
      ],
      [
        async (emit) => {
          emit({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
        },
        async () => {
          throw new ApiError(410, "Gone", "too old");
        },
        hang,
      ],
    );
    const inf = new Informer("cm", lw, { log, backoffBaseMs: 5 });
    const seen = collect(inf);
    inf.start();
    await until(() => lw.watches.length === 3);
    expect(lw.lists).toBe(3);
    expect(lw.watches).toEqual(["1", "50", "60"]);
    expect(seen).toContainEqual(["deleted", "b"]);
    expect(inf.store.size()).toBe(1);
    await inf.stop();
  });

  it("keeps retrying a failing list (never gives up) and syncs once it works", async () => {
    let calls = 0;
    const lw = new ScriptedLW(
      [
        () => {
          calls++;
          if (calls < 4) throw new Error("apiserver down");
          return { items: [obj("a", "1")], resourceVersion: "1" };
        },
      ],
      [hang],
    );
    const inf = new Informer("cm", lw, { log, backoffBaseMs: 2 });
    inf.start();
    expect(inf.hasSynced()).toBe(false);
    await inf.waitForSync();
    expect(calls).toBe(4);
    await inf.stop();
  });

  it("tears down a silent watch and relists (stale-watch detection)", async () => {
    const restarts: RestartReason[] = [];
    const lw = new ScriptedLW([() => ({ items: [], resourceVersion: "1" })], [hang]);
    const inf = new Informer("cm", lw, { log, staleAfterMs: 30, onRestart: (r) => restarts.push(r) });
    inf.start();
    await until(() => lw.lists >= 3);
    expect(restarts.slice(0, 2)).toEqual(["stale", "stale"]);
    await inf.stop();
  });

  it("relists periodically and reports unchanged objects as resync", async () => {
    const lw = new ScriptedLW([() => ({ items: [obj("a", "1")], resourceVersion: "1" })], [hang]);
    const inf = new Informer("cm", lw, { log, resyncMs: 40 });
    const seen = collect(inf);
    inf.start();
    await until(() => seen.length >= 3);
    expect(seen.slice(0, 3)).toEqual([
      ["added", "a"],
      ["resync", "a"],
      ["resync", "a"],
    ]);
    await inf.stop();
  });

  it("backs off when the server closes every watch at once", async () => {
    const lw = new ScriptedLW([() => ({ items: [], resourceVersion: "1" })], [async () => {}]);
    const inf = new Informer("cm", lw, { log, backoffBaseMs: 20, backoffMaxMs: 20 });
    inf.start();
    await new Promise((r) => setTimeout(r, 200));
    await inf.stop();
    // ~200 ms / 20 ms backoff: bounded, not thousands of reconnects.
    expect(lw.watches.length).toBeGreaterThan(2);
    expect(lw.watches.length).toBeLessThan(15);
  });
});
