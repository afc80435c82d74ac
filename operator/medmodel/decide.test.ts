import { describe, expect, it } from "vitest";
import { decide, sanitizeNote } from "./decide.ts";
import { cond, input, iso, ready, spec, steady, T0 } from "./test-support.ts";
import type { Decision } from "./types.ts";

const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);
const reasons = (d: Decision) => d.events.map((e) => e.reason);

describe("serving decision: first reconcile", () => {
  it("serves spec.activeVersion at once, scaling it and nothing else", () => {
    const d = decide(input({ spec: spec({ activeVersion: "v1" }) }));
    expect(d.servingVersion).toBe("v1");
    expect(d.replicas).toEqual({ v1: 2, v2: 0 });
    expect(d.splitTraffic).toBe(false);
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "ScalingUp" });
    expect(condition(d, "Ready")).toMatchObject({ status: "False", reason: "Unavailable" });
    expect(condition(d, "Degraded")?.status).toBe("False");
    expect(d.status.endpoint).toBe("http://chest.rad.svc/v2/models/chest");
    expect(d.status.versions?.map((v) => v.phase)).toEqual(["Pending", "Retired"]);
  });

  it("status.endpoint is https:// when the model serves TLS (spec.serving.tls)", () => {
    const base = spec({ activeVersion: "v1" });
    const d = decide(
      input({ spec: { ...base, serving: { ...base.serving, tls: { secretName: "chest-tls" } } } }),
    );
    expect(d.status.endpoint).toBe("https://chest.rad.svc/v2/models/chest");
  });

  it("defaults to the last listed version without activeVersion", () => {
    const d = decide(input({ spec: spec({ activeVersion: undefined }, ["a", "b", "c"]) }));
    expect(d.servingVersion).toBe("c");
  });

  it("reports an activeVersion that names no version as Degraded and serves the last one", () => {
    const d = decide(input({ spec: spec({ activeVersion: "nope" }) }));
    expect(d.servingVersion).toBe("v2");
    expect(condition(d, "Degraded")).toMatchObject({ status: "True", reason: "UnknownActiveVersion" });
  });

  it("becomes Ready once a replica is ready", () => {
    const d = decide(input({ spec: spec({ activeVersion: "v1" }), health: { v1: ready(2) } }));
    expect(condition(d, "Ready")).toMatchObject({ status: "True", reason: "Serving" });
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "Complete" });
  });

  it("switches to the desired version when the serving one was removed from spec", () => {
    const d = decide(input({ spec: spec({ activeVersion: "v2" }, ["v2"]), previous: steady("v0") }));
    expect(d.servingVersion).toBe("v2");
    expect(reasons(d)).toContain("Switched");
  });
});

describe("rollouts: Immediate and BlueGreen", () => {
  const cases: [string, "Immediate" | "BlueGreen", number, string][] = [
    ["Immediate, new version not ready", "Immediate", 0, "v1"],
    ["Immediate, one replica ready", "Immediate", 1, "v2"],
    ["BlueGreen, one of two ready", "BlueGreen", 1, "v1"],
    ["BlueGreen, all ready", "BlueGreen", 2, "v2"],
  ];
  it.each(cases)("%s → serves %s", (_n, strategy, newReady, expected) => {
    const d = decide(
      input({
        spec: spec({ rollout: { strategy } }),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(newReady) },
      }),
    );
    expect(d.servingVersion).toBe(expected);
    if (expected === "v2") {
      expect(reasons(d)).toContain("Promoted");
      expect(d.status.activeVersion).toBe("v2");
    } else {
      // Both run while the new version comes up.
      expect(d.replicas).toEqual({ v1: 2, v2: 2 });
      expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "RolloutInProgress" });
    }
  });

  it("without a strategy or steps it waits for all replicas (Canary is the API default, its steps too)", () => {
    const d = decide(input({ spec: spec(), previous: steady("v1"), health: { v1: ready(2), v2: ready(1) } }));
    expect(d.servingVersion).toBe("v1");
  });

  it("a new version that cannot start stalls the rollout and the old one keeps serving", () => {
    const d = decide(
      input({
        spec: spec(),
        previous: steady("v1", T0 - 60_000, { lastKnownGoodVersion: "v1" }),
        health: { v1: ready(2), v2: ready(0, { failure: { reason: "DigestMismatch", message: "differs" } }) },
      }),
    );
    expect(d.servingVersion).toBe("v1");
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    expect(condition(d, "Degraded")).toMatchObject({ status: "True", reason: "VersionFailed" });
    expect(reasons(d)).toEqual(["VersionFailed"]);
    expect(d.status.failover?.count).toBe(0);
  });
});

describe("requireValidation", () => {
  const run = (verdict: "Passed" | "Failed" | undefined, strategy: "BlueGreen" | "Immediate" = "BlueGreen") =>
    decide(
      input({
        spec: spec({ rollout: { strategy, requireValidation: true } }),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(2) },
        verdicts: verdict ? { v2: verdict } : {},
      }),
    );

  it("waits for a verdict although the new version is ready", () => {
    const d = run(undefined);
    expect(d.servingVersion).toBe("v1");
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "AwaitingValidation" });
    expect(d.status.versions?.find((v) => v.name === "v2")?.validated).toBeUndefined();
  });
  it("promotes on Passed", () => {
    const d = run("Passed", "Immediate");
    expect(d.servingVersion).toBe("v2");
    expect(d.status.versions?.find((v) => v.name === "v2")?.validated).toBe(true);
  });
  it("refuses on Failed and says so", () => {
    const d = run("Failed");
    expect(d.servingVersion).toBe("v1");
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "ValidationFailed" });
    expect(condition(d, "Degraded")).toMatchObject({ status: "True", reason: "ValidationFailed" });
    expect(d.status.versions?.find((v) => v.name === "v2")?.validated).toBe(false);
  });
  it("ignores verdicts when not required", () => {
    const d = decide(
      input({
        spec: spec(),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(2) },
        verdicts: { v2: "Failed" },
      }),
    );
    expect(d.servingVersion).toBe("v2");
  });
});

describe("canary", () => {
  const steps = [
    { weight: 25, pause: "30s" },
    { weight: 50, pause: "1m" },
  ];
  const canarySpec = (over = {}) =>
    spec({ rollout: { strategy: "Canary", steps, ...over }, serving: { replicas: 4 } });

  it("starts at the first step's weight, splits replicas and traffic", () => {
    const d = decide(input({ spec: canarySpec(), previous: steady("v1"), health: { v1: ready(4) } }));
    expect(d.status.canary).toEqual({ version: "v2", weight: 25, step: 0, since: iso(T0) });
    expect(d.replicas).toEqual({ v1: 3, v2: 1 });
    expect(d.splitTraffic).toBe(true);
    expect(d.servingVersion).toBe("v1");
    expect(reasons(d)).toEqual(["LastKnownGood", "CanaryStarted"]);
    expect(d.status.lastKnownGoodVersion).toBe("v1");
    expect(d.requeueAfterMs).toBe(30_000);
  });

  const inStep = (step: number, sinceAgoMs: number, canaryReady: number, over = {}) =>
    decide(
      input({
        spec: canarySpec(over),
        previous: steady("v1", T0 - 600_000, {
          canary: { version: "v2", weight: steps[step]!.weight, step, since: iso(T0 - sinceAgoMs) },
        }),
        health: { v1: ready(3), v2: ready(canaryReady) },
      }),
    );

  it("holds while the canary replicas are not ready, even after the pause", () => {
    const d = inStep(0, 120_000, 0);
    expect(d.status.canary?.step).toBe(0);
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "CanaryInProgress" });
  });
  it("holds for the rest of the pause once ready", () => {
    const d = inStep(0, 10_000, 1);
    expect(d.status.canary?.step).toBe(0);
    expect(d.requeueAfterMs).toBe(20_000);
  });
  it("advances after the pause", () => {
    const d = inStep(0, 30_000, 1);
    expect(d.status.canary).toEqual({ version: "v2", weight: 50, step: 1, since: iso(T0) });
    expect(d.replicas).toEqual({ v1: 2, v2: 2 });
    expect(reasons(d)).toEqual(["CanaryStep"]);
    expect(d.requeueAfterMs).toBe(60_000);
  });
  it("promotes after the last step", () => {
    const d = inStep(1, 60_000, 2);
    expect(d.servingVersion).toBe("v2");
    expect(d.status.canary).toBeUndefined();
    expect(d.splitTraffic).toBe(false);
    expect(d.replicas).toEqual({ v1: 0, v2: 4 });
    expect(reasons(d)).toEqual(["Promoted"]);
  });
  it("waits for validation before the final promotion", () => {
    const d = inStep(1, 60_000, 2, { requireValidation: true });
    expect(d.servingVersion).toBe("v1");
    expect(d.status.canary?.step).toBe(1);
    expect(condition(d, "Progressing")?.reason).toBe("AwaitingValidation");
  });
  it("clamps the step when the spec lost steps", () => {
    const d = decide(
      input({
        spec: spec({
          rollout: { strategy: "Canary", steps: [{ weight: 50, pause: "10s" }] },
          serving: { replicas: 4 },
        }),
        previous: steady("v1", T0 - 600_000, {
          canary: { version: "v2", weight: 75, step: 3, since: iso(T0 - 1000) },
        }),
        health: { v1: ready(2), v2: ready(2) },
      }),
    );
    expect(d.status.canary).toMatchObject({ step: 0, weight: 50 });
    expect(d.requeueAfterMs).toBe(9000);
  });
  it("is cancelled when activeVersion goes back to the stable version", () => {
    const d = decide(
      input({
        spec: canarySpec({}),
        previous: steady("v1", T0 - 600_000, {
          canary: { version: "v2", weight: 25, step: 0, since: iso(T0) },
        }),
        health: { v1: ready(3), v2: ready(1) },
      }),
    );
    // spec() keeps activeVersion v2: flip it to v1 for this case.
    const back = decide(
      input({
        spec: { ...canarySpec({}), activeVersion: "v1" },
        previous: steady("v1", T0 - 600_000, {
          canary: { version: "v2", weight: 25, step: 0, since: iso(T0) },
        }),
        health: { v1: ready(3), v2: ready(1) },
      }),
    );
    expect(d.status.canary).toBeDefined();
    expect(back.status.canary).toBeUndefined();
    expect(back.replicas).toEqual({ v1: 4, v2: 0 });
    expect(reasons(back)).toEqual(["RolloutCancelled"]);
  });
  it("a crash-looping canary is aborted as a failover and held", () => {
    const d = inStep(0, 1000, 0);
    expect(d.status.canary).toBeDefined();
    const aborted = decide(
      input({
        spec: canarySpec(),
        previous: steady("v1", T0 - 600_000, {
          canary: { version: "v2", weight: 25, step: 0, since: iso(T0) },
        }),
        health: { v1: ready(3), v2: ready(0, { crashLooping: true, pods: 1 }) },
      }),
    );
    expect(aborted.servingVersion).toBe("v1");
    expect(aborted.status.canary).toBeUndefined();
    expect(aborted.status.failover).toMatchObject({
      count: 1,
      lastTransition: { from: "v2", to: "v1", reason: "CrashLoopBackOff", at: iso(T0) },
    });
    expect(condition(aborted, "FailedOver")?.status).toBe("True");
    expect(reasons(aborted)).toEqual(["Failover", "VersionFailed"]);
  });
  it("a Canary strategy without steps behaves as BlueGreen", () => {
    const d = decide(
      input({
        spec: spec({ rollout: { strategy: "Canary", steps: [] } }),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(2) },
      }),
    );
    expect(d.servingVersion).toBe("v2");
  });
});

describe("failover", () => {
  const serving2 = (over = {}) => steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1", ...over });
  const run = (v2: ReturnType<typeof ready>, specOver = {}, previous = serving2(), v1 = ready(1)) =>
    decide(input({ spec: spec(specOver), previous, health: { v1, v2 } }));

  it("moves to the last known good after unavailableAfter without a ready replica", () => {
    const d = run(ready(0, { unavailableSince: T0 - 10_000 }));
    expect(d.servingVersion).toBe("v1");
    expect(d.status.activeVersion).toBe("v1");
    expect(d.status.failover).toEqual({
      count: 1,
      lastTransition: { from: "v2", to: "v1", reason: "Unavailable", at: iso(T0) },
    });
    expect(condition(d, "FailedOver")).toMatchObject({
      status: "True",
      reason: "Unavailable",
      observedGeneration: 1,
    });
    expect(condition(d, "Degraded")).toMatchObject({ status: "True", reason: "FailedOver" });
    expect(d.events[0]).toMatchObject({ type: "Warning", reason: "Failover" });
    // The fallback scales to full size; the failed version keeps running so its recovery is seen.
    expect(d.replicas).toEqual({ v1: 2, v2: 2 });
  });
  it("waits out unavailableAfter and asks to be woken when it ends", () => {
    const d = run(ready(0, { unavailableSince: T0 - 4000 }));
    expect(d.servingVersion).toBe("v2");
    expect(d.requeueAfterMs).toBe(6000);
  });
  it("honours spec.failover.unavailableAfter", () => {
    expect(
      run(ready(0, { unavailableSince: T0 - 4000 }), { failover: { unavailableAfter: "3s" } }).servingVersion,
    ).toBe("v1");
  });
  it.each([
    ["crash loop", ready(1, { crashLooping: true }), "CrashLoopBackOff"],
    ["digest mismatch", ready(0, { failure: { reason: "DigestMismatch", message: "x" } }), "DigestMismatch"],
    ["fetch failure", ready(0, { failure: { reason: "FetchFailed", message: "404" } }), "FetchFailed"],
  ])("fails over at once on %s", (_n, v2, reason) => {
    const d = run(v2);
    expect(d.servingVersion).toBe("v1");
    expect(d.status.failover?.lastTransition?.reason).toBe(reason);
  });
  it("prefers spec.failover.fallbackVersion over the last known good", () => {
    const d = decide(
      input({
        spec: spec({ failover: { fallbackVersion: "v0" } }, ["v0", "v1", "v2"]),
        previous: serving2(),
        health: { v0: ready(1), v1: ready(1), v2: ready(1, { crashLooping: true }) },
      }),
    );
    expect(d.servingVersion).toBe("v0");
  });
  it("skips a fallback that cannot start", () => {
    const d = decide(
      input({
        spec: spec({ failover: { fallbackVersion: "v0" } }, ["v0", "v1", "v2"]),
        previous: serving2(),
        health: {
          v0: ready(0, { failure: { reason: "FetchFailed", message: "x" } }),
          v1: ready(1),
          v2: ready(1, { crashLooping: true }),
        },
      }),
    );
    expect(d.servingVersion).toBe("v1");
  });
  it("without any target it reports Degraded and warns once", () => {
    const prev = steady("v2");
    const d = run(ready(1, { crashLooping: true }), {}, prev);
    expect(d.servingVersion).toBe("v2");
    expect(condition(d, "Degraded")).toMatchObject({ status: "True", reason: "NoHealthyFallback" });
    expect(reasons(d)).toContain("FailoverImpossible");
    const again = run(ready(1, { crashLooping: true }), {}, { ...prev, conditions: d.status.conditions });
    expect(reasons(again)).not.toContain("FailoverImpossible");
  });
  it("does nothing but report when failover is disabled", () => {
    const d = run(ready(1, { crashLooping: true }), { failover: { enabled: false } });
    expect(d.servingVersion).toBe("v2");
    expect(condition(d, "Degraded")?.reason).toBe("ServingUnavailable");
    expect(d.replicas).toEqual({ v1: 0, v2: 2 });
  });
  it("a first load without a last known good is progress, not degradation", () => {
    const d = decide(
      input({
        spec: spec({ activeVersion: "v1" }),
        previous: {},
        health: { v1: ready(0, { unavailableSince: T0 - 60_000, pods: 2 }) },
      }),
    );
    expect(condition(d, "Degraded")?.status).toBe("False");
    expect(d.events).toEqual([]);
  });
  it("fails over on a validation breach only when onValidationBreach is set", () => {
    const verdicts = { v2: "Failed" as const };
    const on = decide(
      input({
        spec: spec({ failover: { onValidationBreach: true } }),
        previous: serving2(),
        health: { v1: ready(1), v2: ready(2) },
        verdicts,
      }),
    );
    const off = decide(
      input({ spec: spec(), previous: serving2(), health: { v1: ready(1), v2: ready(2) }, verdicts }),
    );
    expect(on.servingVersion).toBe("v1");
    expect(on.status.failover?.lastTransition?.reason).toBe("ValidationBreach");
    expect(off.servingVersion).toBe("v2");
  });
  it("counts failovers", () => {
    const d = run(ready(1, { crashLooping: true }), {}, serving2({ failover: { count: 4 } }));
    expect(d.status.failover?.count).toBe(5);
  });
});

describe("failover: more cases", () => {
  it("a serving version failing during a canary fails over to the fallback and drops the canary", () => {
    const d = decide(
      input({
        spec: spec(
          {
            rollout: { strategy: "Canary", steps: [{ weight: 50, pause: "1m" }, { weight: 100 }] },
            failover: { fallbackVersion: "v0" },
          },
          ["v0", "v1", "v2"],
        ),
        previous: steady("v1", T0 - 600_000, {
          lastKnownGoodVersion: "v1",
          canary: { version: "v2", weight: 50, step: 0, since: iso(T0 - 1000) },
        }),
        health: { v0: ready(1), v1: ready(0, { crashLooping: true, pods: 1 }), v2: ready(1) },
      }),
    );
    expect(d.servingVersion).toBe("v0");
    expect(d.status.canary).toBeUndefined();
    expect(d.splitTraffic).toBe(false);
    expect(d.status.failover?.lastTransition).toMatchObject({
      from: "v1",
      to: "v0",
      reason: "CrashLoopBackOff",
    });
  });
  it("does not fail over while suspended (decisions are frozen)", () => {
    const d = decide(
      input({
        spec: spec({ suspend: true }),
        previous: steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" }),
        health: { v1: ready(1), v2: ready(0, { crashLooping: true, pods: 1 }) },
      }),
    );
    expect(d.servingVersion).toBe("v2");
    expect(d.status.failover?.count).toBe(0);
  });
  it("the unavailable clock comes from observation: a version with ready pods is never unavailable", () => {
    const d = decide(
      input({
        spec: spec(),
        previous: steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" }),
        health: { v1: ready(1), v2: ready(1, { unavailableSince: T0 - 3_600_000 }) },
      }),
    );
    expect(d.servingVersion).toBe("v2");
  });
});

describe("fail-back without flapping", () => {
  // v2 failed at generation 3; v1 serves.
  const failedOver = steady("v1", T0 - 60_000, {
    lastKnownGoodVersion: "v1",
    failover: {
      count: 1,
      lastTransition: { from: "v2", to: "v1", reason: "Unavailable", at: iso(T0 - 60_000) },
    },
    conditions: [
      cond("Progressing", false, T0 - 60_000),
      cond("FailedOver", true, T0 - 60_000, { observedGeneration: 3 }),
    ],
  });
  const run = (
    generation: number,
    v2: ReturnType<typeof ready>,
    annotations: Record<string, string> = {},
    s = spec(),
  ) =>
    decide(
      input({
        model: { name: "chest", namespace: "rad", generation, annotations },
        spec: s,
        previous: failedOver,
        health: { v1: ready(2), v2 },
      }),
    );

  it("stays on the fallback when the failed version recovers by itself", () => {
    const d = run(3, ready(2));
    expect(d.servingVersion).toBe("v1");
    expect(condition(d, "FailedOver")).toMatchObject({ status: "True", observedGeneration: 3 });
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "FailedOver" });
    expect(d.events).toEqual([]);
    expect(d.replicas).toEqual({ v1: 2, v2: 2 });
  });
  it("returns after a spec change once the version is healthy", () => {
    const d = run(4, ready(2));
    expect(reasons(d)).toEqual(["FailBack", "Promoted"]);
    expect(d.servingVersion).toBe("v2");
    expect(condition(d, "FailedOver")).toMatchObject({ status: "False", observedGeneration: 4 });
    expect(d.status.failover?.count).toBe(1);
  });
  it("a spec change alone does not return to an unhealthy version", () => {
    const d = run(4, ready(1));
    expect(d.servingVersion).toBe("v1");
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "AwaitingRecovery" });
  });
  it("returns on the one-shot retry annotation and consumes it", () => {
    const d = run(3, ready(2), { "medmlops.io/retry-version": "v2" });
    expect(d.servingVersion).toBe("v2");
    expect(d.consumeRetryAnnotation).toBe(true);
  });
  it("keeps the retry annotation until the version is healthy", () => {
    const d = run(3, ready(0, { pods: 2 }), { "medmlops.io/retry-version": "v2" });
    expect(d.servingVersion).toBe("v1");
    expect(d.consumeRetryAnnotation).toBe(false);
  });
  it("a retry annotation naming another version is not a retry", () => {
    const d = run(3, ready(2), { "medmlops.io/retry-version": "v9" });
    expect(d.servingVersion).toBe("v1");
  });
  it("fail-back goes through the canary again", () => {
    const s = spec({ rollout: { strategy: "Canary", steps: [{ weight: 50, pause: "10s" }] } });
    const d = run(4, ready(2), {}, s);
    expect(d.servingVersion).toBe("v1");
    expect(d.status.canary).toMatchObject({ version: "v2", step: 0 });
  });
  it("a new activeVersion releases the hold", () => {
    const s = spec({ activeVersion: "v3" }, ["v1", "v2", "v3"]);
    const d = decide(
      input({
        model: { name: "chest", namespace: "rad", generation: 4 },
        spec: s,
        previous: failedOver,
        health: { v1: ready(2), v2: ready(0), v3: ready(2) },
      }),
    );
    expect(reasons(d)).toEqual(["FailoverCleared", "Promoted"]);
    expect(d.servingVersion).toBe("v3");
  });
  it("drops a stale retry annotation when nothing is failed over", () => {
    const d = decide(
      input({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 1,
          annotations: { "medmlops.io/retry-version": "v2" },
        },
        spec: spec(),
        previous: steady("v2"),
        health: { v2: ready(2) },
      }),
    );
    expect(d.consumeRetryAnnotation).toBe(true);
  });
  it("a second failure after fail-back fails over again (counted), it does not oscillate silently", () => {
    const back = run(4, ready(2));
    const again = decide(
      input({
        model: { name: "chest", namespace: "rad", generation: 4 },
        spec: spec(),
        previous: back.status,
        health: { v1: ready(1), v2: ready(0, { crashLooping: true }) },
        now: T0 + 5000,
      }),
    );
    expect(again.servingVersion).toBe("v1");
    expect(again.status.failover?.count).toBe(2);
    // …and stays there at the same generation, however healthy v2 looks afterwards.
    const later = decide(
      input({
        model: { name: "chest", namespace: "rad", generation: 4 },
        spec: spec(),
        previous: again.status,
        health: { v1: ready(2), v2: ready(2) },
        now: T0 + 600_000,
      }),
    );
    expect(later.servingVersion).toBe("v1");
  });
});

describe("last known good", () => {
  const run = (previous: ReturnType<typeof steady>, v1 = ready(2), now = T0) =>
    decide(input({ spec: spec({ activeVersion: "v1" }), previous, health: { v1 }, now }));

  it("moves to the serving version when a rollout away from it starts", () => {
    const prev = steady("v1", T0 - 60_000, { lastKnownGoodVersion: "v0" });
    const stays = decide(
      input({
        spec: spec({ activeVersion: "v1" }, ["v0", "v1", "v2"]),
        previous: prev,
        health: { v1: ready(2) },
      }),
    );
    const moves = decide(
      input({
        spec: spec({ activeVersion: "v2" }, ["v0", "v1", "v2"]),
        previous: prev,
        health: { v1: ready(2) },
      }),
    );
    expect(stays.status.lastKnownGoodVersion).toBe("v0");
    expect(moves.status.lastKnownGoodVersion).toBe("v1");
    expect(reasons(moves)).toContain("LastKnownGood");
  });
  it("stays on the previous good version while a newer one serves (so failover has a target)", () => {
    const d = decide(
      input({
        spec: spec(),
        previous: steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" }),
        health: { v1: ready(1), v2: ready(2) },
      }),
    );
    expect(d.status.lastKnownGoodVersion).toBe("v1");
  });
  it("is recorded after serving fully ready and steady for minHealthy", () => {
    const d = run(steady("v1", T0 - 30_000));
    expect(d.status.lastKnownGoodVersion).toBe("v1");
    expect(reasons(d)).toEqual(["LastKnownGood"]);
  });
  it("asks to be woken when minHealthy ends", () => {
    const d = run(steady("v1", T0 - 20_000));
    expect(d.status.lastKnownGoodVersion).toBeUndefined();
    expect(d.requeueAfterMs).toBe(10_000);
  });
  it("counts from the latest readiness of its pods", () => {
    const d = run(steady("v1", T0 - 60_000), ready(2, { readySince: T0 - 5000 }));
    expect(d.status.lastKnownGoodVersion).toBeUndefined();
    expect(d.requeueAfterMs).toBe(25_000);
  });
  it.each([
    ["not fully ready", steady("v1", T0 - 60_000), ready(1)],
    [
      "still progressing",
      { activeVersion: "v1", conditions: [cond("Progressing", true, T0 - 60_000)] },
      ready(2),
    ],
    ["just switched to", steady("v0", T0 - 60_000), ready(2)],
  ])("is not recorded when %s", (_n, previous, v1) => {
    expect(run(previous, v1).status.lastKnownGoodVersion).toBeUndefined();
  });
  it("keeps a warm standby of the last known good", () => {
    const d = decide(
      input({
        spec: spec({ serving: { replicas: 3 } }),
        previous: steady("v2", T0 - 60_000, { lastKnownGoodVersion: "v1" }),
        health: { v1: ready(1), v2: ready(3) },
        options: { standbyReplicas: 1 },
      }),
    );
    expect(d.replicas).toEqual({ v1: 1, v2: 3 });
    expect(d.status.versions?.find((v) => v.name === "v1")).toMatchObject({
      phase: "Ready",
      readyReplicas: 1,
    });
  });
  it("caps the warm standby at the serving replica count", () => {
    const prev = steady("v2", T0 - 60_000, { lastKnownGoodVersion: "v1" });
    const big = decide(
      input({
        spec: spec({ serving: { replicas: 2 } }),
        previous: prev,
        health: { v1: ready(2), v2: ready(2) },
        options: { standbyReplicas: 5 },
      }),
    );
    expect(big.replicas).toEqual({ v1: 2, v2: 2 });
    const scaledToZero = decide(
      input({
        spec: spec({ serving: { replicas: 0 } }),
        previous: prev,
        health: {},
        options: { standbyReplicas: 1 },
      }),
    );
    expect(scaledToZero.replicas).toEqual({ v1: 0, v2: 0 });
  });
  it("keeps no standby when failover is disabled or standbyReplicas is 0", () => {
    const prev = steady("v2", T0 - 60_000, { lastKnownGoodVersion: "v1" });
    const disabled = decide(
      input({ spec: spec({ failover: { enabled: false } }), previous: prev, health: { v2: ready(2) } }),
    );
    const zero = decide(
      input({ spec: spec(), previous: prev, health: { v2: ready(2) }, options: { standbyReplicas: 0 } }),
    );
    expect(disabled.replicas.v1).toBe(0);
    expect(zero.replicas.v1).toBe(0);
  });
});

describe("stop button", () => {
  const annotations = { "medmlops.io/suspended-by": "dr-lee" };
  const run = (suspend: boolean, previous = steady("v1", T0 - 60_000, { lastKnownGoodVersion: "v1" })) =>
    decide(
      input({
        model: { name: "chest", namespace: "rad", generation: 2, annotations },
        spec: spec({ suspend, suspendReason: "vendor recall\n" }),
        previous,
        health: { v1: ready(2), v2: ready(0, { crashLooping: true }) },
      }),
    );

  it("suspends: condition, control file, one Event naming who and why, rollouts and failover frozen", () => {
    const d = run(true);
    expect(d.control).toEqual({ suspended: true, reason: "inference stopped by dr-lee: vendor recall" });
    expect(condition(d, "Suspended")).toMatchObject({ status: "True", reason: "Suspended" });
    expect(condition(d, "Ready")).toMatchObject({ status: "False", reason: "Suspended" });
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "Suspended" });
    expect(d.events.filter((e) => e.reason === "Suspended")).toEqual([
      {
        type: "Warning",
        reason: "Suspended",
        action: "Suspend",
        note: "inference stopped by dr-lee: vendor recall",
      },
    ]);
    expect(d.servingVersion).toBe("v1");
    // Pods stay up so that resuming is instant.
    expect(d.replicas.v1).toBe(2);
    const still = run(true, { ...steady("v1"), conditions: d.status.conditions });
    expect(reasons(still)).not.toContain("Suspended");
  });
  it("resumes with an Event", () => {
    const d = run(true);
    const r = run(false, { ...steady("v1"), conditions: d.status.conditions });
    expect(r.control).toEqual({ suspended: false });
    expect(reasons(r)).toContain("Resumed");
    expect(condition(r, "Suspended")?.status).toBe("False");
  });
});

describe("conditions", () => {
  it("keep lastTransitionTime when the status does not flip", () => {
    const first = decide(input({ spec: spec({ activeVersion: "v1" }), health: { v1: ready(2) } }));
    const second = decide(
      input({
        spec: spec({ activeVersion: "v1" }),
        previous: first.status,
        health: { v1: ready(2) },
        now: T0 + 5000,
      }),
    );
    expect(condition(second, "Ready")?.lastTransitionTime).toBe(iso(T0));
    const third = decide(
      input({
        spec: spec({ activeVersion: "v1" }),
        previous: second.status,
        health: { v1: ready(0) },
        now: T0 + 9000,
      }),
    );
    expect(condition(third, "Ready")).toMatchObject({ status: "False", lastTransitionTime: iso(T0 + 9000) });
  });
});

describe("requeue floor", () => {
  it("a zero pause never asks for a requeue after 0 ms (the work queue would run it at once, in a loop)", () => {
    const d = decide(
      input({
        spec: spec({
          rollout: { strategy: "Canary", steps: [{ weight: 50, pause: "0s" }, { weight: 100 }] },
        }),
        previous: steady("v1"),
        health: { v1: ready(2) },
      }),
    );
    expect(d.status.canary?.weight).toBe(50);
    expect(d.requeueAfterMs).toBe(1);
  });
});

describe("sanitizeNote", () => {
  it.each([
    [undefined, undefined],
    ["  ", undefined],
    ["a\nb\tc", "a b c"],
    ["x".repeat(300), `${"x".repeat(199)}…`],
  ])("%j → %j", (input, expected) => expect(sanitizeNote(input)).toBe(expected));
});

describe("ValidationPolicy actions (docs/validation.md)", () => {
  const serving2 = () => steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" });
  const base = { previous: serving2(), health: { v1: ready(1), v2: ready(2) } };

  it("Failover: fails over from a version its policy took the Failover action for, without onValidationBreach", () => {
    const d = decide(input({ ...base, spec: spec(), policy: { failover: ["v2"] } }));
    expect(d.servingVersion).toBe("v1");
    expect(d.status.failover?.lastTransition).toMatchObject({
      from: "v2",
      to: "v1",
      reason: "ValidationBreach",
    });
    const none = decide(input({ ...base, spec: spec(), policy: { failover: [] } }));
    expect(none.servingVersion).toBe("v2");
  });

  it("Failover never goes to a version that is itself breached", () => {
    const d = decide(input({ ...base, spec: spec(), policy: { failover: ["v1", "v2"] } }));
    expect(d.servingVersion).toBe("v2");
    expect(d.status.failover?.lastTransition).toBeUndefined();
  });

  it("Suspend: PolicyBreach with the episode and how to resume; lifted only when the request is gone", () => {
    const suspend = {
      policy: "cxr-policy",
      episode: "breach-v2-0123456789",
      reason: "sensitivity of v2 below floor",
    };
    const d = decide(input({ ...base, spec: spec(), policy: { failover: [], suspend } }));
    expect(d.control.suspended).toBe(true);
    expect(condition(d, "Suspended")).toMatchObject({ status: "True", reason: "PolicyBreach" });
    expect(condition(d, "Ready")).toMatchObject({ status: "False", reason: "PolicyBreach" });
    expect(condition(d, "Suspended")?.message).toContain("medmlops.io/resume-episode=breach-v2-0123456789");
    expect(d.events.filter((e) => e.reason === "Suspended")).toHaveLength(1);
    const after = decide(
      input({
        ...base,
        previous: { ...serving2(), conditions: d.status.conditions },
        spec: spec(),
        policy: { failover: [] },
      }),
    );
    expect(after.control.suspended).toBe(false);
    expect(reasons(after)).toContain("Resumed");
  });
});
