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

  it("serves Prometheus metrics on the metrics port", async () => {
    const r = await fetch(`${m.metricsUrl}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await r.text()).toContain("medmlops_monitor_records_accepted_total");
  });

  it("the API port serves no /metrics", async () => {
    const r = await fetch(`${m.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: "no such route", code: "NOT_FOUND" });
  });

  it("the metrics port serves nothing of the API, not even the probes", async () => {
    for (const [method, path] of [
      ["GET", "/v1/worklist?namespace=ns&model=m"],
      ["POST", "/v1/records"],
      ["GET", "/v1/audit"],
      ["GET", "/healthz"],
      ["GET", "/readyz"],
      ["POST", "/metrics"],
    ] as const) {
      const r = await fetch(`${m.metricsUrl}${path}`, {
        method,
        ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe("NOT_FOUND");
    }
    // Both still serve.
    expect((await fetch(`${m.metricsUrl}/metrics`)).status).toBe(200);
    expect(await m.client.ready()).toBe(true);
  });
});
