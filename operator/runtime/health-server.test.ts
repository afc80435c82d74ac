import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer } from "./health-server.ts";
import { OperatorMetrics } from "./metrics.ts";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe("health server", () => {
  it("serves /healthz, /readyz (by cache sync) and /metrics from its own registry", async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    metrics.trackQueue("medmodel", () => 7);
    metrics.reconcileTotal.inc({ controller: "medmodel", result: "success" });
    let ready = false;
    const s = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      metrics,
      healthy: () => true,
      ready: () => ready,
    });
    close = s.close;
    const get = (p: string) => fetch(`http://127.0.0.1:${s.port}${p}`);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(503);
    ready = true;
    expect((await get("/readyz")).status).toBe(200);
    const body = await (await get("/metrics")).text();
    expect(body).toContain('medmlops_operator_workqueue_depth{controller="medmodel"} 7');
    expect(body).toContain('medmlops_operator_reconcile_total{controller="medmodel",result="success"} 1');
    expect((await get("/nope")).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`, { method: "POST" })).status).toBe(405);
  });
});
