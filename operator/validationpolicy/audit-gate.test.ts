import { describe, expect, it } from "vitest";
import { MonitorError, MonitorUnavailableError } from "../../monitor/client.ts";
import { gateKey, refusedForGood, withholdUnaudited } from "./audit-gate.ts";
import { decide } from "./decide.ts";
import { breached, input, later, model, policySpec } from "./test-support.ts";

const retrainSpec = policySpec({
  actions: {
    onBreach: ["Failover", "Retrain"],
    retrainTemplate: { trainer: { image: "registry.example/trainer:1" } },
  },
});

describe("withholdUnaudited", () => {
  const planned = decide(input({ spec: retrainSpec, monitor: { kind: "evaluated", result: breached() } }));
  const ep = planned.status.episodes?.[0];
  const key = ep?.key ?? "";

  it("nothing failed: the decision as planned", () => {
    expect(withholdUnaudited(planned, {}, new Set())).toBe(planned);
  });

  it("a refused Retrain entry: no mark, no RetrainJob, no event; the Failover that was audited stands", () => {
    const d = withholdUnaudited(planned, {}, new Set([gateKey(key, "Retrain")]));
    expect(d.status.episodes?.[0]?.actions).toEqual(["Failover"]);
    expect(d.status.episodes?.[0]?.retrainJob).toBeUndefined();
    expect(d.retrain).toEqual([]);
    expect(d.events.map((e) => e.reason)).toEqual(["PerformanceBreach", "FailoverRequested"]);
    expect(d.status.lastAction).toMatchObject({ type: "Failover" });
    expect(d.requeueAfterMs).toBe(30_000);
    // the episode itself (a verdict) stands
    expect(d.status.episodes?.[0]).toMatchObject({ key, type: "Breach", version: "v2" });
  });

  it("every action refused: no marks, lastAction as before, and the next reconcile plans them again", () => {
    const previous = { lastAction: { type: "Alert" as const, at: "2026-12-01T00:00:00Z", reason: "old" } };
    const failed = new Set([gateKey(key, "Failover"), gateKey(key, "Retrain")]);
    const d = withholdUnaudited(planned, previous, failed);
    expect(d.status.episodes?.[0]?.actions).toBeUndefined();
    expect(d.status.lastAction).toEqual(previous.lastAction);
    expect(d.events.map((e) => e.reason)).toEqual(["PerformanceBreach"]);
    const retry = decide(
      input({ spec: retrainSpec, previous: d.status, monitor: { kind: "skipped" }, now: later(30_000) }),
    );
    expect(retry.status.episodes?.[0]?.actions).toEqual(["Failover", "Retrain"]);
    expect(retry.audit.map((a) => a.gate?.key)).toEqual([gateKey(key, "Failover"), gateKey(key, "Retrain")]);
    expect(retry.events.map((e) => e.reason)).toEqual(["FailoverRequested", "RetrainRequested"]);
  });

  it("a refused Resume entry: the model stays suspended (no resumed, no Resumed event)", () => {
    const spec = policySpec({ actions: { onBreach: ["Suspend"] } });
    const d1 = decide(input({ spec, monitor: { kind: "evaluated", result: breached() } }));
    const k = d1.status.episodes?.[0]?.key ?? "";
    const asked = model({
      annotations: {
        "medmlops.io/resume-episode": k,
        "medmlops.io/resumed-by": "dr-lee",
        "medmlops.io/resume-reason": "checked",
      },
    });
    const d2 = decide(
      input({ spec, model: asked, previous: d1.status, monitor: { kind: "skipped" }, now: later(60_000) }),
    );
    expect(d2.status.episodes?.[0]?.resumed).toBeDefined();
    const held = withholdUnaudited(d2, d1.status, new Set([gateKey(k, "Resume")]));
    expect(held.status.episodes?.[0]?.resumed).toBeUndefined();
    expect(held.status.episodes?.[0]?.actions).toEqual(["Suspend"]);
    expect(held.events).toEqual([]);
  });
});

describe("refusedForGood", () => {
  it("a 4xx other than 408/429 is for good; outages, 5xx, 408 and 429 are worth a retry", () => {
    expect(refusedForGood(new MonitorError(400, "PHI_IN_AUDIT", "x"))).toEqual({ code: "PHI_IN_AUDIT" });
    expect(refusedForGood(new MonitorError(409, "AUDIT_KEY_CONFLICT", "x"))).toEqual({
      code: "AUDIT_KEY_CONFLICT",
    });
    for (const status of [408, 429, 500, 503])
      expect(refusedForGood(new MonitorError(status, "X", "x"))).toBeUndefined();
    expect(refusedForGood(new MonitorUnavailableError("down"))).toBeUndefined();
    expect(refusedForGood(new Error("boom"))).toBeUndefined();
  });
});
