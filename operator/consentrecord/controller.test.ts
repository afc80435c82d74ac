import { describe, expect, it } from "vitest";
import { MonitorUnavailableError } from "../../monitor/client.ts";
import { ConsentRecordKind } from "../kinds.ts";
import { fakeDeps } from "../runtime/testing/fake-deps.ts";
import { consentRecordController, FINALIZER } from "./controller.ts";

// biome-ignore lint/suspicious/noExplicitAny: the test reads untyped status bodies
type Status = Record<string, any>;
const PN = `pn:${"ab".repeat(32)}`;
const key = { namespace: "radiology", name: "optout-1" };

function setup(spec: Record<string, unknown>, down = false) {
  const t = fakeDeps({ now: new Date("2026-12-04T12:00:00Z") });
  const calls: string[] = [];
  const audit: { action: string; details?: Record<string, unknown> }[] = [];
  const guard = () => {
    if (down) throw new MonitorUnavailableError("down");
  };
  const monitor = {
    putConsent: async () => {
      guard();
      calls.push("put");
      return { excluded: 3, erased: 0 };
    },
    deleteConsent: async () => {
      calls.push("delete");
    },
    eraseConsent: async () => {
      calls.push("erase");
      return { records: 4, annotations: 2 };
    },
    eraseKeptCases: async () => {
      calls.push("eraseKept");
      return 1;
    },
    datasetsContaining: async () => [{ id: "u1", namespace: "radiology", job: "cxr-v3" }],
    appendAudit: async (e: { action: string; details?: Record<string, unknown> }) => {
      audit.push(e);
      return { seq: 1, hash: "h" };
    },
  };
  const c = consentRecordController(t.deps, { monitor });
  t.cache.put({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ConsentRecord",
    metadata: { ...key, generation: 1, finalizers: [FINALIZER] },
    spec: {
      subject: { pseudonym: PN },
      legalBasis: { article6: "6.1.e", article9: "9.2.h" },
      recordedAt: "2026-12-01T00:00:00Z",
      ...spec,
    },
  });
  const status = () => {
    t.client.observeStatus(ConsentRecordKind, key);
    return (t.cache.get(ConsentRecordKind, key) as { status?: Status }).status ?? {};
  };
  return { t, calls, audit, c, status };
}

describe("ConsentRecord controller", () => {
  it("a deny-everything record is pushed, erased, counted, and names the tainted RetrainJobs with a Warning", async () => {
    const s = setup({ decision: "Deny" });
    await s.c.reconciler.reconcile(key, s.t.context());
    expect(s.calls).toEqual(["put", "erase", "eraseKept"]);
    const st = s.status();
    expect(st.enforcement).toMatchObject({ casesExcluded: 3, casesErased: 5, datasetsTainted: ["cxr-v3"] });
    expect(st.conditions[0]).toMatchObject({ type: "Enforced", status: "True" });
    expect(s.t.events[0]).toMatchObject({ type: "Warning", reason: "DatasetsTainted" });
    expect(s.audit.map((a) => a.action)).toEqual(["Erasure", "ConsentChanged"]);
    expect(JSON.stringify(s.audit) + JSON.stringify(st) + JSON.stringify(s.t.events)).not.toContain(PN);
  });

  it("a partial Deny is enforced without erasure; Inactive is not reported enforced", async () => {
    const s = setup({ decision: "Permit", provisions: [{ decision: "Deny", purposes: ["SYSDEV"] }] });
    await s.c.reconciler.reconcile(key, s.t.context());
    expect(s.calls).toEqual(["put"]);
    const i = setup({ decision: "Deny", state: "Inactive" });
    await i.c.reconciler.reconcile(key, i.t.context());
    expect(i.calls).toEqual(["put"]);
    expect(i.status().conditions[0]).toMatchObject({ type: "Enforced", status: "False", reason: "Inactive" });
  });

  it("the monitor down: Enforced=False and the reconcile fails so the queue backs off", async () => {
    const s = setup({ decision: "Deny" }, true);
    await expect(s.c.reconciler.reconcile(key, s.t.context())).rejects.toThrow(/not enforced/);
    expect(s.status().conditions[0]).toMatchObject({
      type: "Enforced",
      status: "False",
      reason: "MonitorUnavailable",
    });
    expect(s.calls).toEqual([]);
  });

  it("a generation the monitor already confirmed stays Enforced through an outage and is re-asserted later", async () => {
    const s = setup({ decision: "Deny" });
    await s.c.reconciler.reconcile(key, s.t.context());
    expect(s.status().conditions[0]).toMatchObject({ type: "Enforced", status: "True" });
    const down = setup({ decision: "Deny" }, true);
    down.t.cache.put({
      ...(s.t.cache.get(ConsentRecordKind, key) as object),
      status: s.status(),
    } as never);
    const r = await down.c.reconciler.reconcile(key, down.t.context());
    expect(r).toEqual({ requeueAfterMs: 30_000 });
    expect(down.status().conditions[0]).toMatchObject({
      type: "Enforced",
      status: "True",
      reason: "Enforced",
    });
    // a new generation during the outage is not reported enforced
    down.t.cache.put({
      ...(down.t.cache.get(ConsentRecordKind, key) as { metadata: object }),
      metadata: { ...key, generation: 2, finalizers: [FINALIZER] },
    } as never);
    await expect(down.c.reconciler.reconcile(key, down.t.context())).rejects.toThrow(/not enforced/);
    expect(down.status().conditions[0]).toMatchObject({ status: "False", reason: "MonitorUnavailable" });
  });
});
