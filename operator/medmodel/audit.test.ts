// Which audit entries a MedModel decision calls for, under which deterministic keys (docs/audit.md, "MedModel
// entries"), on real decide() outputs; and how the status carries the ones not yet written.
import { describe, expect, it } from "vitest";
import {
  type AuditContext,
  auditEntriesFor,
  entriesToWrite,
  MAX_PENDING,
  type PendingAuditEntry,
  withAuditStatus,
} from "./audit.ts";
import { decide } from "./decide.ts";
import { cond, input, iso, ready, spec, steady, T0 } from "./test-support.ts";
import type { DecisionInput } from "./types.ts";

const UID = "uid-7";

function entries(i: DecisionInput): PendingAuditEntry[] {
  const d = decide(i);
  const ctx: AuditContext = {
    uid: UID,
    generation: i.model.generation,
    annotations: i.model.annotations ?? {},
    spec: i.spec,
    previous: i.previous,
    at: iso(i.now),
  };
  return auditEntriesFor(d, ctx);
}

const serving2 = () => steady("v2", T0 - 600_000, { lastKnownGoodVersion: "v1" });

describe("MedModel audit entries", () => {
  it("a failover: one Failover entry keyed by the failover count, the same when the decision is recomputed", () => {
    const i = input({
      spec: spec(),
      previous: serving2(),
      health: { v1: ready(2), v2: ready(0, { crashLooping: true, pods: 1 }) },
    });
    const first = entries(i);
    expect(first).toEqual([
      {
        key: `MedModel/${UID}/failover/1`,
        action: "Failover",
        actor: "medmlops-operator",
        reason: expect.stringContaining("now serving v1"),
        at: iso(T0),
        details: { from: "v2", to: "v1", cause: "CrashLoopBackOff", failoverCount: "1" },
      },
    ]);
    // the operator restarted before its status write: the same event, the same key (the monitor dedups it)
    expect(entries({ ...i, now: T0 + 5000 }).map((e) => e.key)).toEqual([first[0]!.key]);
    // a later failover, after the first was reported (count 4 in status), is a new key
    const later = entries({ ...i, previous: { ...serving2(), failover: { count: 4 } } });
    expect(later.map((e) => e.key)).toEqual([`MedModel/${UID}/failover/5`]);
  });

  it("a policy's Failover action is audited with cause ValidationBreach", () => {
    const e = entries(
      input({
        spec: spec(),
        previous: serving2(),
        health: { v1: ready(1), v2: ready(2) },
        policy: { failover: ["v2"] },
      }),
    );
    expect(e.map((x) => [x.action, x.details?.["cause"]])).toEqual([["Failover", "ValidationBreach"]]);
  });

  it("a promotion, keyed by version, generation and failover count", () => {
    const e = entries(
      input({
        model: { name: "chest", namespace: "rad", generation: 3 },
        spec: spec({ rollout: { strategy: "Immediate" } }),
        previous: steady("v1"),
        health: { v1: ready(2), v2: ready(1) },
      }),
    );
    expect(e).toEqual([
      expect.objectContaining({
        key: `MedModel/${UID}/promotion/v2/g3/f0`,
        action: "Promotion",
        details: { version: "v2", previous: "v1", strategy: "Immediate", generation: "3" },
      }),
    ]);
  });

  it("each canary step is a RolloutStep with its weight", () => {
    const canarySpec = spec({ rollout: { strategy: "Canary", steps: [{ weight: 25 }, { weight: 50 }] } });
    const started = decide(
      input({ spec: canarySpec, previous: steady("v1"), health: { v1: ready(2), v2: ready(0) } }),
    );
    const ctx = (previous: DecisionInput["previous"]): AuditContext => ({
      uid: UID,
      generation: 1,
      annotations: {},
      spec: canarySpec,
      previous,
      at: iso(T0),
    });
    expect(auditEntriesFor(started, ctx(steady("v1")))).toEqual([
      expect.objectContaining({
        key: `MedModel/${UID}/rollout/v2/g1/f0/step1`,
        action: "RolloutStep",
        details: { version: "v2", weight: "25", step: "1", steps: "2", generation: "1" },
      }),
    ]);
    const prev = { ...steady("v1"), canary: started.status.canary! };
    const next = decide(
      input({ spec: canarySpec, previous: prev, health: { v1: ready(2), v2: ready(1) }, now: T0 + 5000 }),
    );
    expect(auditEntriesFor(next, ctx(prev)).map((x) => [x.key, x.details?.["weight"]])).toEqual([
      [`MedModel/${UID}/rollout/v2/g1/f0/step2`, "50"],
    ]);
  });

  it("the stop button: who from medmlops.io/suspended-by, why from spec.suspendReason", () => {
    const e = entries(
      input({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 2,
          annotations: { "medmlops.io/suspended-by": "Dr. Safety Officer" },
        },
        spec: spec({ suspend: true, suspendReason: "vendor recall" }),
        previous: { ...steady("v2"), conditions: [cond("Suspended", false, T0 - 60_000)] },
        health: { v1: ready(2), v2: ready(2) },
      }),
    );
    expect(e).toEqual([
      expect.objectContaining({
        key: `MedModel/${UID}/suspend/${iso(T0 - 60_000)}`,
        action: "Suspend",
        actor: "Dr. Safety Officer",
        reason: "vendor recall",
        details: { by: "spec.suspend" },
      }),
    ]);
  });

  it("a suspension nobody is named for says unknown; a policy's names the policy and episode", () => {
    const noName = entries(input({ spec: spec({ suspend: true }), health: { v2: ready(2) } }));
    expect(noName[0]).toMatchObject({ actor: "unknown", key: `MedModel/${UID}/suspend/initial` });
    const byPolicy = entries(
      input({
        spec: spec(),
        previous: serving2(),
        health: { v1: ready(1), v2: ready(2) },
        policy: { failover: [], suspend: { policy: "cxr-policy", episode: "breach-v2-1", reason: "floor" } },
      }),
    );
    expect(byPolicy[0]).toMatchObject({
      action: "Suspend",
      actor: "ValidationPolicy/cxr-policy",
      details: { by: "ValidationPolicy", policy: "cxr-policy", episode: "breach-v2-1" },
    });
  });

  it("a resumption: who and why from medmlops.io/resumed-by and resume-reason, keyed by the suspension", () => {
    const e = entries(
      input({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 3,
          annotations: {
            "medmlops.io/resumed-by": "Dr. Lead",
            "medmlops.io/resume-reason": "recall withdrawn",
          },
        },
        spec: spec(),
        previous: {
          ...steady("v2"),
          conditions: [cond("Suspended", true, T0 - 30_000, { reason: "Suspended" })],
        },
        health: { v1: ready(2), v2: ready(2) },
      }),
    );
    expect(e).toEqual([
      expect.objectContaining({
        key: `MedModel/${UID}/resume/${iso(T0 - 30_000)}`,
        action: "Resume",
        actor: "Dr. Lead",
        reason: "recall withdrawn",
        details: { suspendedAs: "Suspended", servingVersion: "v2" },
      }),
    ]);
  });

  it("a fail-back on the retry annotation, keyed by the failover it ends", () => {
    const previous = {
      ...steady("v1"),
      lastKnownGoodVersion: "v1",
      failover: { count: 2, lastTransition: { from: "v2", to: "v1", reason: "Unavailable", at: iso(T0) } },
      conditions: [cond("FailedOver", true, T0, { observedGeneration: 1 })],
    };
    const e = entries(
      input({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 1,
          annotations: { "medmlops.io/retry-version": "v2" },
        },
        spec: spec({ rollout: { strategy: "Immediate" } }),
        previous,
        health: { v1: ready(2), v2: ready(2, { readySince: T0 - 60_000 }) },
      }),
    );
    expect(e.map((x) => [x.action, x.key])).toEqual([
      ["FailBack", `MedModel/${UID}/failback/2`],
      ["Promotion", `MedModel/${UID}/promotion/v2/g1/f2`],
    ]);
    expect(e[0]?.details).toMatchObject({
      held: "v2",
      fallback: "v1",
      trigger: "annotation medmlops.io/retry-version",
    });
  });

  it("a decision without governance events calls for none", () => {
    expect(
      entries(input({ spec: spec(), previous: serving2(), health: { v1: ready(1), v2: ready(2) } })),
    ).toEqual([]);
  });
});

describe("pending entries in status", () => {
  const entry = (n: number): PendingAuditEntry => ({
    key: `k${n}`,
    action: "Failover",
    actor: "medmlops-operator",
    reason: "r",
    at: iso(T0),
  });

  it("keeps the previous ones first, each key once, and drops (counting) beyond the cap", () => {
    expect(
      entriesToWrite({ pending: [entry(1), entry(2)] }, [entry(2), entry(3)]).entries.map((e) => e.key),
    ).toEqual(["k1", "k2", "k3"]);
    const many = Array.from({ length: MAX_PENDING + 3 }, (_, i) => entry(i));
    const capped = entriesToWrite({ dropped: 1 }, many);
    expect(capped.entries).toHaveLength(MAX_PENDING);
    expect(capped.entries[0]?.key).toBe("k3");
    expect(capped.dropped).toBe(4);
  });

  it("Audited=False AuditPending names the actions while entries wait; True Recorded and no audit field after", () => {
    const base = decide(
      input({ spec: spec(), previous: serving2(), health: { v1: ready(1), v2: ready(2) } }),
    ).status;
    const pending = withAuditStatus(base, [entry(1)], 0, "the monitor is unreachable", new Date(T0), 4);
    expect(pending.audit).toEqual({ pending: [entry(1)] });
    const c = pending.conditions?.find((x) => x.type === "Audited");
    expect(c).toMatchObject({ status: "False", reason: "AuditPending", observedGeneration: 4 });
    expect(c?.message).toBe(
      "1 audit entry not yet in the audit log (Failover): the monitor is unreachable; retried on every reconcile",
    );
    expect(pending.activeVersion).toBe(base.activeVersion);
    const done = withAuditStatus({ ...pending }, [], 0, undefined, new Date(T0 + 1000), 4);
    expect(done.audit).toBeUndefined();
    expect(done.conditions?.find((x) => x.type === "Audited")).toMatchObject({
      status: "True",
      reason: "Recorded",
      lastTransitionTime: iso(T0 + 1000),
    });
  });
});
