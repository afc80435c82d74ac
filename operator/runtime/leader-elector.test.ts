import pino from "pino";
import { describe, expect, it } from "vitest";
import { LeaderElector } from "./leader-elector.ts";
import { ApiError, type RequestOptions, type RestClient } from "./rest.ts";
import type { KubeObject } from "./types.ts";

const log = pino({ level: "silent" });

/** One Lease in memory with resourceVersion checks, like the API server; `down` makes every call fail. */
class LeaseApi implements RestClient {
  lease: (KubeObject & { spec?: Record<string, unknown> }) | undefined;
  rv = 0;
  down = false;
  async request<T>(method: string, _path: string, o: RequestOptions = {}): Promise<T> {
    if (this.down) throw new Error("connect ECONNREFUSED");
    const body = o.body as KubeObject | undefined;
    if (method === "GET") {
      if (!this.lease) throw new ApiError(404, "NotFound", "not found");
      return structuredClone(this.lease) as T;
    }
    if (method === "POST") {
      if (this.lease) throw new ApiError(409, "AlreadyExists", "exists");
      this.lease = { ...body!, metadata: { ...body!.metadata, resourceVersion: String(++this.rv) } };
      return structuredClone(this.lease) as T;
    }
    if (method === "PUT") {
      if (body?.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
        throw new ApiError(409, "Conflict", "conflict");
      }
      this.lease = { ...body!, metadata: { ...body!.metadata, resourceVersion: String(++this.rv) } };
      return structuredClone(this.lease) as T;
    }
    throw new Error(`unexpected ${method}`);
  }
  async stream(): Promise<void> {}
}

function elector(api: LeaseApi, identity: string, events: string[]) {
  return new LeaderElector({
    rest: api,
    namespace: "ops",
    name: "lease",
    identity,
    log,
    leaseDurationMs: 300,
    renewDeadlineMs: 200,
    retryPeriodMs: 20,
    onStartedLeading: () => events.push(`${identity}:start`),
    onStoppedLeading: () => events.push(`${identity}:stop`),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("LeaderElector", () => {
  it("one of two candidates leads; the other takes over after the leader stops renewing", async () => {
    const api = new LeaseApi();
    const events: string[] = [];
    const a = elector(api, "a", events);
    const b = elector(api, "b", events);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await sleep(50);
    const runB = b.run(stopB.signal);
    await sleep(150);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(api.lease?.spec?.["holderIdentity"]).toBe("a");
    stopA.abort(); // a dies without releasing
    await runA;
    await sleep(1_000);
    expect(b.isLeader()).toBe(true);
    expect(api.lease?.spec?.["leaseTransitions"]).toBe(1);
    expect(events).toEqual(["a:start", "b:start"]);
    stopB.abort();
    await runB;
  });

  it("gives up leadership when it cannot renew within the renew deadline", async () => {
    const api = new LeaseApi();
    const events: string[] = [];
    const a = elector(api, "a", events);
    const run = a.run(new AbortController().signal);
    await sleep(60);
    expect(a.isLeader()).toBe(true);
    api.down = true;
    const started = Date.now();
    await run; // returns once leadership is lost
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(a.isLeader()).toBe(false);
    expect(events).toEqual(["a:start", "a:stop"]);
  });

  it("release() hands the lease over at once", async () => {
    const api = new LeaseApi();
    const events: string[] = [];
    const a = elector(api, "a", events);
    const b = elector(api, "b", events);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await sleep(50);
    const runB = b.run(stopB.signal);
    await sleep(50);
    stopA.abort();
    await runA;
    await a.release();
    expect(api.lease?.spec?.["holderIdentity"]).toBe("");
    await sleep(100); // well under the 300 ms lease duration
    expect(b.isLeader()).toBe(true);
    stopB.abort();
    await runB;
  });
});
