// Reconciling and Stalled on a MedModel (the conditions phase): what kstatus, Argo CD and Flux read. The real
// kstatus library reads these on the real API server in test/integration/medmodel-kstatus.test.ts.
import { describe, expect, it } from "vitest";
import { decide } from "../decide.ts";
import { invalidSpecStatus } from "../invalid-spec.ts";
import { input, ready, spec, steady, T0 } from "../test-support.ts";
import type { Decision, DecisionStatus } from "../types.ts";

const kstatus = (conditions: DecisionStatus["conditions"]) => {
  const r = conditions?.find((c) => c.type === "Reconciling");
  const s = conditions?.find((c) => c.type === "Stalled");
  expect(r?.status === "True" && s?.status === "True", "never both True").toBe(false);
  return r?.status === "True"
    ? `Reconciling/${r.reason}`
    : s?.status === "True"
      ? `Stalled/${s.reason}`
      : "Current";
};
const of = (d: Decision) => kstatus(d.status.conditions);

describe("kstatus conditions of a MedModel", () => {
  it("first load: Reconciling until the serving version is ready, then settled", () => {
    expect(of(decide(input({ spec: spec({ activeVersion: "v1" }) })))).toBe("Reconciling/ScalingUp");
    const settled = decide(input({ spec: spec({ activeVersion: "v1" }), health: { v1: ready(2) } }));
    expect(of(settled)).toBe("Current");
    expect(settled.status.conditions?.find((c) => c.type === "Stalled")).toMatchObject({
      status: "False",
      reason: "Reconciled",
      observedGeneration: 1,
    });
  });

  it("mid-canary and mid-rollout: Reconciling", () => {
    const canarySpec = spec({ rollout: { strategy: "Canary", steps: [{ weight: 50, pause: "1m" }] } });
    const d = decide(input({ spec: canarySpec, previous: steady("v1"), health: { v1: ready(2) } }));
    expect(of(d)).toBe("Reconciling/CanaryInProgress");
    const bg = decide(
      input({
        spec: spec({ rollout: { strategy: "BlueGreen" } }),
        previous: steady("v1"),
        health: { v1: ready(2) },
      }),
    );
    expect(of(bg)).toBe("Reconciling/RolloutInProgress");
  });

  it("a new version that cannot start: Stalled (the old one keeps serving)", () => {
    const d = decide(
      input({
        spec: spec({ rollout: { strategy: "BlueGreen" } }),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(0, { failure: { reason: "DigestMismatch", message: "differs" } }) },
      }),
    );
    expect(of(d)).toBe("Stalled/RolloutStalled");
  });

  it("the only version cannot start (digest mismatch): Stalled, not Reconciling forever", () => {
    const d = decide(
      input({
        spec: spec({ activeVersion: "v1" }, ["v1"]),
        health: { v1: ready(0, { failure: { reason: "DigestMismatch", message: "differs" } }) },
      }),
    );
    expect(of(d)).toBe("Stalled/VersionFailed");
  });

  it("failed over and holding: Stalled; a retry while the held version recovers: Reconciling", () => {
    const previous = steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" });
    const failed = decide(
      input({
        spec: spec(),
        previous,
        health: { v1: ready(2), v2: ready(0, { unavailableSince: T0 - 60_000 }) },
      }),
    );
    expect(failed.servingVersion).toBe("v1");
    expect(of(failed)).toBe("Stalled/FailedOver");
    const held = decide(
      input({
        spec: spec(),
        previous: failed.status,
        health: { v1: ready(2), v2: ready(0, { unavailableSince: T0 - 60_000 }) },
      }),
    );
    expect(of(held)).toBe("Stalled/FailedOver");
    const retry = decide(
      input({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 1,
          annotations: { "medmlops.io/retry-version": "v2" },
        },
        spec: spec(),
        previous: failed.status,
        health: { v1: ready(2), v2: ready(1) },
      }),
    );
    expect(of(retry)).toBe("Reconciling/AwaitingRecovery");
  });

  it("suspended, Gateway API missing, validation failed: Stalled", () => {
    const base = { previous: steady("v1"), health: { v1: ready(2), v2: ready(2) } };
    expect(of(decide(input({ spec: spec({ suspend: true }), ...base })))).toBe("Stalled/Suspended");
    const gw = spec({
      rollout: { strategy: "Canary", steps: [], trafficRouting: { gatewayAPI: {} } },
      activeVersion: "v1",
    });
    expect(of(decide(input({ spec: gw, ...base, gatewayApiServed: false })))).toBe(
      "Stalled/GatewayAPIUnavailable",
    );
    const vf = decide(
      input({
        spec: spec({ rollout: { strategy: "BlueGreen", requireValidation: true } }),
        ...base,
        verdicts: { v2: "Failed" },
      }),
    );
    expect(of(vf)).toBe("Stalled/ValidationFailed");
  });

  it("an invalid spec: Stalled InvalidSpec (kstatus Failed, never Current)", () => {
    const status = invalidSpecStatus({}, ["spec.versions: too small"], 3, new Date(T0));
    expect(kstatus(status.conditions)).toBe("Stalled/InvalidSpec");
  });
});
