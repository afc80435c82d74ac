import { describe, expect, it } from "vitest";
import { findCondition } from "../runtime/index.ts";
import { decide, shouldEvaluate } from "./decide.ts";
import { retrainJobName } from "./retrain.ts";
import { breached, drifted, healthy, input, later, model, policySpec } from "./test-support.ts";
import type { DecideInput, Decision } from "./types.ts";

const cond = (d: Decision, type: string) => findCondition(d.status.conditions, type);
const reasons = (d: Decision) => d.events.map((e) => `${e.type}/${e.reason}`);
/** Feed a decision's status into the next reconcile, as the API server would. */
const next = (d: Decision, over: Parameters<typeof input>[0]) =>
  decide(input({ previous: d.status, ...over }));

describe("decide: verdicts and conditions", () => {
  it("writes passing results per version in the requireValidation shape and Ready", () => {
    const d = decide(input());
    expect(d.status.results?.map((r) => [r.version, r.metrics?.map((m) => m.pass)])).toEqual([
      ["v1", [true, true]],
      ["v2", [true, true]],
    ]);
    expect(cond(d, "Ready")).toMatchObject({ status: "True", reason: "Evaluated", observedGeneration: 1 });
    expect(cond(d, "Breached")?.status).toBe("False");
    expect(cond(d, "DriftDetected")?.status).toBe("False");
    expect(cond(d, "InsufficientData")?.status).toBe("False");
    expect(cond(d, "Reconciling")?.status).toBe("False");
    expect(cond(d, "Stalled")?.status).toBe("False");
    expect(d.status.lastEvaluation).toBe("2026-12-04T12:00:00Z");
    expect(d.status.observedGeneration).toBe(1);
    expect(d.events).toEqual([]);
    expect(d.requeueAfterMs).toBe(3_600_000);
  });

  it.each([
    ["a required metric below minSamples", 20, true, []],
    ["a required metric the monitor marks pass below minSamples", 49, true, []],
  ])("%s → no verdict for the version (metrics empty) and InsufficientData", (_n, n, pass, expected) => {
    const r = healthy();
    r.results[1] = {
      version: "v2",
      metrics: [{ ...r.results[1]!.metrics[0]!, n, pass }, r.results[1]!.metrics[1]!],
    };
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(d.status.results?.find((x) => x.version === "v2")?.metrics).toEqual(expected);
    expect(cond(d, "InsufficientData")).toMatchObject({ status: "True", reason: "TooFewAnnotatedCases" });
    expect(cond(d, "InsufficientData")?.message).toContain(`sensitivity of v2: ${n} of 50`);
  });

  it("rows with null estimates are not verdicts", () => {
    const r = healthy();
    r.results[0] = {
      version: "v1",
      metrics: [
        { metric: "sensitivity", value: null, ciLow: null, ciHigh: null, n: 0, pass: null },
        r.results[0]!.metrics[1]!,
      ],
    };
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(d.status.results?.[0]).toEqual({ version: "v1", metrics: [] });
  });

  it("a failing row stands even when another required metric lacks cases", () => {
    const r = breached();
    r.results[1]!.metrics[1] = { ...r.results[1]!.metrics[1]!, n: 3 };
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(d.status.results?.[1]?.metrics?.map((m) => [m.metric, m.pass])).toEqual([["sensitivity", false]]);
    expect(cond(d, "Breached")?.status).toBe("True");
    expect(cond(d, "InsufficientData")?.status).toBe("True");
  });

  it("Breached names metric, subgroup, version and bound — and a failing subgroup counts", () => {
    const r = healthy();
    r.results[1]!.metrics.push({
      metric: "sensitivity",
      subgroup: "site=b",
      value: 0.8,
      ciLow: 0.71,
      ciHigh: 0.88,
      n: 60,
      pass: false,
    });
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(cond(d, "Breached")).toMatchObject({ status: "True", reason: "MetricOutOfBounds" });
    expect(cond(d, "Breached")?.message).toBe(
      "sensitivity at site=b of v2: lower bound 0.71 below floor 0.85 (n=60)",
    );
  });

  it("metrics the spec no longer requires and unknown names are dropped", () => {
    const r = healthy();
    r.results[0]!.metrics.push({ metric: "auroc", value: 0.5, ciLow: 0.4, ciHigh: 0.6, n: 100, pass: false });
    r.results[0]!.metrics.push({ metric: "bogus", value: 0.5, ciLow: 0.4, ciHigh: 0.6, n: 100, pass: false });
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(d.status.results?.[0]?.metrics?.map((m) => m.metric)).toEqual(["sensitivity", "specificity"]);
    expect(cond(d, "Breached")?.status).toBe("False");
  });

  it("drift rows carry their version, drifted first, at most 32", () => {
    const r = drifted();
    for (let i = 0; i < 40; i++)
      r.drift.push({
        version: "v1",
        feature: `f${String(i).padStart(2, "0")}`,
        test: "ks",
        statistic: 0.1,
        pValue: 0.5,
        drifted: false,
      });
    const d = decide(input({ monitor: { kind: "evaluated", result: r } }));
    expect(d.status.drift).toHaveLength(32);
    expect(d.status.drift?.[0]).toEqual({
      version: "v2",
      feature: "image:mean",
      test: "psi",
      statistic: 0.41,
      drifted: true,
    });
    expect(cond(d, "DriftDetected")).toMatchObject({ status: "True", reason: "DriftDetected" });
    expect(cond(d, "DriftDetected")?.message).toBe(
      "input image:mean (psi) of v2: statistic 0.41 above threshold 0.2",
    );
  });

  it("MedModel missing → Ready False ModelNotFound, Stalled True, nothing evaluated", () => {
    const d = decide(input({ model: undefined }));
    expect(cond(d, "Ready")).toMatchObject({ status: "False", reason: "ModelNotFound" });
    expect(cond(d, "Stalled")?.status).toBe("True");
    expect(d.status.results).toBeUndefined();
  });
});

describe("decide: episodes and events", () => {
  it("drift: one Warning DriftDetected at the start, none while it lasts, Normal Recovered at the end", () => {
    const d1 = decide(input({ monitor: { kind: "evaluated", result: drifted() } }));
    expect(reasons(d1)).toEqual(["Warning/DriftDetected"]);
    expect(d1.events[0]?.note).toContain("image:mean (psi) of v2");
    expect(d1.status.episodes).toHaveLength(1);
    expect(d1.status.episodes?.[0]).toMatchObject({
      type: "Drift",
      version: "v2",
      startedAt: "2026-12-04T12:00:00Z",
      actions: ["Alert"],
    });
    const d2 = next(d1, { monitor: { kind: "evaluated", result: drifted() }, now: later(3_600_000) });
    expect(d2.events).toEqual([]);
    expect(d2.status.episodes).toEqual(d1.status.episodes);
    // the first clean evaluation only counts (recoveryEvaluations: 2); the second ends the episode
    const d2b = next(d2, { monitor: { kind: "evaluated", result: healthy() }, now: later(5_400_000) });
    expect(d2b.events).toEqual([]);
    expect(d2b.status.episodes?.[0]).toMatchObject({ clearEvaluations: 1 });
    expect(d2b.status.episodes?.[0]?.endedAt).toBeUndefined();
    expect(cond(d2b, "DriftDetected")?.status).toBe("False");
    const d3 = next(d2b, { monitor: { kind: "evaluated", result: healthy() }, now: later(7_200_000) });
    expect(reasons(d3)).toEqual(["Normal/Recovered"]);
    expect(d3.status.episodes?.[0]?.endedAt).toBe("2026-12-04T14:00:00Z");
    expect(d3.status.episodes?.[0]?.clearEvaluations).toBeUndefined();
    expect(cond(d3, "DriftDetected")?.status).toBe("False");
    // a new shift later is a new episode with a new key
    const d4 = next(d3, { monitor: { kind: "evaluated", result: drifted() }, now: later(10_800_000) });
    expect(reasons(d4)).toEqual(["Warning/DriftDetected"]);
    expect(d4.status.episodes).toHaveLength(2);
    expect(d4.status.episodes?.[1]?.key).not.toBe(d4.status.episodes?.[0]?.key);
  });

  it("hysteresis: a metric hovering at its floor (fail, pass, fail, pass) is one episode, one event, one action", () => {
    const at = (h: number) => later(h * 3_600_000);
    const results = [breached(), healthy(), breached(), healthy(), breached()];
    let d = decide(input({ monitor: { kind: "evaluated", result: results[0] ?? healthy() } }));
    const all = [...reasons(d)];
    for (let i = 1; i < results.length; i++) {
      d = next(d, { monitor: { kind: "evaluated", result: results[i] ?? healthy() }, now: at(i) });
      all.push(...reasons(d));
    }
    expect(d.status.episodes).toHaveLength(1);
    expect(d.status.episodes?.[0]?.endedAt).toBeUndefined();
    expect(d.status.episodes?.[0]?.clearEvaluations).toBeUndefined(); // a finding resets the count
    expect(all).toEqual(["Warning/PerformanceBreach", "Warning/FailoverRequested"]);
    // two clean evaluations in a row end it
    d = next(d, { monitor: { kind: "evaluated", result: healthy() }, now: at(5) });
    d = next(d, { monitor: { kind: "evaluated", result: healthy() }, now: at(6) });
    expect(reasons(d)).toEqual(["Normal/Recovered"]);
  });

  it("recoveryEvaluations: 1 ends an episode at the first clean evaluation; 3 needs three", () => {
    const run = (n: number) => {
      const spec = policySpec({ schedule: { interval: "1h", recoveryEvaluations: n } });
      let d = decide(input({ spec, monitor: { kind: "evaluated", result: breached() } }));
      let cleanRuns = 0;
      while (d.status.episodes?.[0]?.endedAt === undefined && cleanRuns < 10) {
        cleanRuns++;
        d = next(d, {
          spec,
          monitor: { kind: "evaluated", result: healthy() },
          now: later(cleanRuns * 3_600_000),
        });
      }
      return cleanRuns;
    };
    expect([run(1), run(2), run(3)]).toEqual([1, 2, 3]);
  });

  it("episode keys are deterministic: same inputs, same key", () => {
    const a = decide(input({ monitor: { kind: "evaluated", result: breached() } }));
    const b = decide(input({ monitor: { kind: "evaluated", result: breached() } }));
    expect(a.status.episodes?.[0]?.key).toBe(b.status.episodes?.[0]?.key);
    expect(a.status.episodes?.[0]?.key).toMatch(/^breach-v2-[0-9a-f]{10}$/);
  });

  it("a removed version's episode ends", () => {
    const d1 = decide(input({ monitor: { kind: "evaluated", result: breached() } }));
    const d2 = next(d1, { model: model({ versions: ["v1"], serving: ["v1"] }), now: later(60_000) });
    expect(d2.status.episodes?.[0]?.endedAt).toBeDefined();
    expect(reasons(d2)).toEqual(["Normal/Recovered"]);
  });
});

describe("decide: actions once per episode", () => {
  it("breach with the defaults (Alert, Failover): one PerformanceBreach and one FailoverRequested, then nothing", () => {
    const d1 = decide(input({ monitor: { kind: "evaluated", result: breached() } }));
    expect(reasons(d1)).toEqual(["Warning/PerformanceBreach", "Warning/FailoverRequested"]);
    expect(d1.status.episodes?.[0]?.actions).toEqual(["Alert", "Failover"]);
    expect(d1.status.lastAction).toMatchObject({ type: "Failover", at: "2026-12-04T12:00:00Z" });
    expect(d1.audit.map((a) => a.action)).toEqual(["VerdictChanged", "ActionTaken", "ActionTaken"]);
    // idempotency keys: one per governance event, the same when the decision is made again (a retry, a restart)
    const key = d1.status.episodes?.[0]?.key;
    expect(d1.audit.map((a) => a.key)).toEqual([
      `ValidationPolicy/radiology/cxr-policy/${key}/started`,
      `ValidationPolicy/radiology/cxr-policy/${key}/Alert`,
      `ValidationPolicy/radiology/cxr-policy/${key}/Failover`,
    ]);
    expect(decide(input({ monitor: { kind: "evaluated", result: breached() } })).audit).toEqual(d1.audit);
    // re-evaluation and an operator restart (a fresh decide from the written status) repeat nothing
    const d2 = next(d1, { monitor: { kind: "evaluated", result: breached() }, now: later(3_600_000) });
    expect(d2.events).toEqual([]);
    expect(d2.audit).toEqual([]);
    expect(d2.status.episodes?.[0]?.actions).toEqual(["Alert", "Failover"]);
    const d3 = next(d2, { monitor: { kind: "skipped" }, now: later(3_700_000) });
    expect(d3.events).toEqual([]);
  });

  it("Suspend waits until the episode's version serves, then is taken once", () => {
    const spec = policySpec({ actions: { onBreach: ["Suspend"] } });
    const d1 = decide(
      input({ spec, model: model({ serving: ["v1"] }), monitor: { kind: "evaluated", result: breached() } }),
    );
    expect(d1.status.episodes?.[0]?.actions).toBeUndefined();
    expect(reasons(d1)).toEqual(["Warning/PerformanceBreach"]);
    const d2 = next(d1, { spec, monitor: { kind: "skipped" }, now: later(60_000) });
    expect(d2.status.episodes?.[0]?.actions).toEqual(["Suspend"]);
    expect(reasons(d2)).toEqual(["Warning/SuspendRequested"]);
    expect(d2.events[0]?.note).toContain(`medmlops.io/resume-episode=${d1.status.episodes?.[0]?.key}`);
    const d3 = next(d2, { spec, monitor: { kind: "evaluated", result: breached() }, now: later(120_000) });
    expect(d3.events).toEqual([]);
  });

  it("Retrain within the change-control envelope: exactly one deterministic RetrainJob per episode", () => {
    const spec = policySpec({
      actions: {
        onBreach: ["Alert", "Retrain"],
        retrainTemplate: { trainer: { image: "registry.example/trainer:1" } },
      },
    });
    const d1 = decide(input({ spec, monitor: { kind: "evaluated", result: breached() } }));
    const key = d1.status.episodes?.[0]?.key ?? "";
    expect(d1.retrain).toEqual([{ name: retrainJobName("cxr-policy", key), episode: key, version: "v2" }]);
    expect(d1.status.episodes?.[0]?.retrainJob).toBe(retrainJobName("cxr-policy", key));
    expect(reasons(d1)).toEqual(["Warning/PerformanceBreach", "Normal/RetrainRequested"]);
    const d2 = next(d1, { spec, monitor: { kind: "evaluated", result: breached() }, now: later(3_600_000) });
    expect(d2.retrain).toEqual(d1.retrain); // the same one must exist; nothing new
    expect(d2.events).toEqual([]);
    const d2b = next(d2, { spec, monitor: { kind: "evaluated", result: healthy() }, now: later(5_400_000) });
    expect(d2b.retrain).toEqual(d1.retrain); // still open while it recovers
    const d3 = next(d2b, { spec, monitor: { kind: "evaluated", result: healthy() }, now: later(7_200_000) });
    expect(d3.retrain).toEqual([]);
  });

  it("Retrain outside changeControl.allowedModifications: a Warning once, no RetrainJob", () => {
    const spec = policySpec({
      actions: {
        onBreach: ["Retrain"],
        retrainTemplate: { trainer: { image: "registry.example/trainer:1" } },
      },
      changeControl: { allowedModifications: ["Recalibration"] },
    });
    const d1 = decide(input({ spec, monitor: { kind: "evaluated", result: breached() } }));
    expect(d1.retrain).toEqual([]);
    expect(reasons(d1)).toEqual(["Warning/PerformanceBreach", "Warning/RetrainNotAllowed"]);
    expect(d1.events[1]?.note).toContain("does not contain Retraining");
    const d2 = next(d1, { spec, monitor: { kind: "evaluated", result: breached() }, now: later(3_600_000) });
    expect(d2.events).toEqual([]);
  });
});

describe("decide: monitor unavailable", () => {
  it("Ready False MonitorUnavailable, one Warning, nothing else changes, no action, retry soon", () => {
    const spec = policySpec({ actions: { onBreach: ["Suspend"] } });
    const d1 = decide(
      input({ spec, model: model({ serving: ["v1"] }), monitor: { kind: "evaluated", result: breached() } }),
    );
    // the version now serves and Suspend would be due — but the monitor is down: no action
    const down = { kind: "unavailable" as const, message: "connect ECONNREFUSED 127.0.0.1:8090" };
    const d2 = next(d1, { spec, monitor: down, now: later(60_000) });
    expect(cond(d2, "Ready")).toMatchObject({ status: "False", reason: "MonitorUnavailable" });
    expect(cond(d2, "Reconciling")?.status).toBe("True");
    expect(reasons(d2)).toEqual(["Warning/MonitorUnavailable"]);
    expect(d2.status.episodes).toEqual(d1.status.episodes);
    expect(d2.status.results).toEqual(d1.status.results);
    expect(d2.status.lastEvaluation).toBe(d1.status.lastEvaluation);
    expect(cond(d2, "Breached")).toEqual(cond(d1, "Breached"));
    expect(d2.requeueAfterMs).toBe(30_000);
    const d3 = next(d2, { spec, monitor: down, now: later(90_000) });
    expect(d3.events).toEqual([]); // said once per outage
    const d4 = next(d3, { spec, monitor: { kind: "evaluated", result: breached() }, now: later(120_000) });
    expect(cond(d4, "Ready")?.status).toBe("True");
    expect(d4.status.episodes?.[0]?.actions).toEqual(["Suspend"]);
  });
});

describe("decide: resume after Suspend", () => {
  const spec = policySpec({ actions: { onBreach: ["Suspend"] } });
  const suspended = () => decide(input({ spec, monitor: { kind: "evaluated", result: breached() } }));

  it("needs the episode key, who and why; the suspension holds after recovery until then", () => {
    const d1 = suspended();
    const key = d1.status.episodes?.[0]?.key ?? "";
    const d1b = next(d1, { spec, monitor: { kind: "evaluated", result: healthy() }, now: later(1_800_000) });
    const d2 = next(d1b, { spec, monitor: { kind: "evaluated", result: healthy() }, now: later(3_600_000) });
    expect(d2.status.episodes?.[0]).toMatchObject({ actions: ["Suspend"], endedAt: "2026-12-04T13:00:00Z" });
    expect(d2.status.episodes?.[0]?.resumed).toBeUndefined();
    const partial = model({
      annotations: { "medmlops.io/resume-episode": key, "medmlops.io/resumed-by": "dr-lee" },
    });
    const d3 = next(d2, { spec, model: partial, monitor: { kind: "skipped" }, now: later(3_700_000) });
    expect(reasons(d3)).toEqual(["Warning/ResumeIgnored"]);
    expect(d3.status.episodes?.[0]?.resumed).toBeUndefined();
    const full = model({
      annotations: {
        "medmlops.io/resume-episode": key,
        "medmlops.io/resumed-by": "dr-lee",
        "medmlops.io/resume-reason": "sensitivity back above floor on 200 new cases",
      },
    });
    const d4 = next(d3, { spec, model: full, monitor: { kind: "skipped" }, now: later(3_800_000) });
    expect(d4.status.episodes?.[0]?.resumed).toEqual({
      by: "dr-lee",
      reason: "sensitivity back above floor on 200 new cases",
      at: "2026-12-04T13:03:20Z",
    });
    expect(reasons(d4)).toEqual(["Normal/Resumed"]);
    expect(d4.audit).toEqual([
      expect.objectContaining({
        action: "Resume",
        details: expect.objectContaining({ resumedBy: "dr-lee" }),
      }),
    ]);
    const d5 = next(d4, { spec, model: full, monitor: { kind: "skipped" }, now: later(3_900_000) });
    expect(d5.events).toEqual([]);
  });

  it("an annotation naming another episode lifts nothing", () => {
    const d1 = suspended();
    const other = model({
      annotations: {
        "medmlops.io/resume-episode": "breach-v2-0000000000",
        "medmlops.io/resumed-by": "x",
        "medmlops.io/resume-reason": "y",
      },
    });
    const d2 = next(d1, { spec, model: other, monitor: { kind: "skipped" }, now: later(60_000) });
    expect(d2.status.episodes?.[0]?.resumed).toBeUndefined();
    expect(d2.events).toEqual([]);
  });
});

describe("shouldEvaluate", () => {
  const evaluated = decide(input());
  it.each([
    ["never evaluated", {}, "FirstEvaluation"],
    ["within the interval", { previous: evaluated.status, now: later(59 * 60_000) }, undefined],
    ["interval elapsed", { previous: evaluated.status, now: later(60 * 60_000) }, "Interval"],
    ["spec changed", { previous: evaluated.status, now: later(60_000), generation: 2 }, "SpecChanged"],
    [
      "new version",
      { previous: evaluated.status, now: later(60_000), model: model({ versions: ["v1", "v2", "v3"] }) },
      "NewVersion",
    ],
    [
      "a version removed is no reason",
      { previous: evaluated.status, now: later(60_000), model: model({ versions: ["v2"] }) },
      undefined,
    ],
  ] as const)("%s", (_n, over, due) => {
    const { generation, ...rest } = over as Partial<DecideInput> & { generation?: number };
    const base = input(rest);
    if (generation) base.policy.generation = generation;
    expect(shouldEvaluate(base).due).toBe(due);
  });

  it("a skipped reconcile requeues for the time left until the next evaluation", () => {
    const d = next(evaluated, { monitor: { kind: "skipped" }, now: later(50 * 60_000) });
    expect(d.requeueAfterMs).toBe(10 * 60_000);
    expect(d.status.lastEvaluation).toBe(evaluated.status.lastEvaluation);
  });

  it("an outage does not count as an evaluation: the next reconcile evaluates", () => {
    const d = next(evaluated, { monitor: { kind: "unavailable", message: "down" }, now: later(61 * 60_000) });
    expect(shouldEvaluate(input({ previous: d.status, now: later(62 * 60_000) })).due).toBe("Interval");
  });

  it("uses the schedule interval", () => {
    const spec = policySpec({ schedule: { interval: "5m" } });
    const d = decide(input({ spec }));
    expect(d.requeueAfterMs).toBe(300_000);
    expect(shouldEvaluate(input({ spec, previous: d.status, now: later(300_000) })).due).toBe("Interval");
  });
});
