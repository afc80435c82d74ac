import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MONITOR_ENGINES, startTestMonitor } from "../test/support/monitor.ts";
import type { StartedMonitor } from "./testing/index.ts";

describe.each(MONITOR_ENGINES)("monitor server on %s", (engine) => {
  let m: StartedMonitor;
  beforeAll(async () => {
    m = await startTestMonitor(engine);
  }, 180_000);
  afterAll(async () => {
    await m?.stop();
  });

  it("answers liveness and readiness, naming its engine", async () => {
    expect((await fetch(`${m.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${m.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", engine });
    expect(await m.client.ready()).toBe(true);
  });

  it("answers unknown routes and broken JSON with a stable code", async () => {
    const r = await fetch(`${m.url}/v1/nope`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: "no such route", code: "NOT_FOUND" });
  });

  it("serves Prometheus metrics", async () => {
    const r = await fetch(`${m.url}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("medmlops_monitor_records_accepted_total");
  });
});
