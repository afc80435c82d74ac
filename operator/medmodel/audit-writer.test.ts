// The MedModel reconciler's audit wiring on the toolkit fakes: the action is applied even when the monitor is
// down, the status then carries the entry (Audited=False AuditPending) and a later reconcile writes it; keys make
// a restart before the status write repeat the same key, never a second distinct entry.
import { describe, expect, it } from "vitest";
import { type AuditInput, MonitorError, MonitorUnavailableError } from "../../monitor/client.ts";
import type { KubeObject } from "../runtime/index.ts";
import { fakeDeps } from "../runtime/testing/fake-deps.ts";
import { MedModelKind, medModelControllerWith } from "./controller.ts";
import { medModelManifest } from "./fixtures.ts";

/** A monitor that can be down, and that dedups by key as the real one does (monitor/audit/store.ts). */
class FakeMonitor {
  up = false;
  refuse = false;
  readonly log: AuditInput[] = [];
  readonly calls: string[] = [];
  async appendAudit(e: AuditInput) {
    this.calls.push(e.key ?? "");
    if (!this.up) throw new MonitorUnavailableError("connect ECONNREFUSED 127.0.0.1:1");
    if (this.refuse) throw new MonitorError(400, "INVALID_AUDIT_ENTRY", "bad");
    const i = this.log.findIndex((x) => x.key === e.key);
    if (i >= 0) return { seq: i + 1, hash: "h", duplicate: true };
    this.log.push(e);
    return { seq: this.log.length, hash: "h" };
  }
}

type Status = {
  audit?: { pending?: { key: string; action: string }[]; dropped?: number };
  conditions?: { type: string; status: string; reason: string; message: string }[];
};

function setup(monitor: FakeMonitor) {
  const t = fakeDeps();
  const model = medModelManifest("chest", "rad", {
    suspend: true,
    suspendReason: "vendor recall",
  }) as KubeObject;
  model.metadata = {
    ...model.metadata,
    uid: "uid-1",
    generation: 1,
    resourceVersion: "5",
    annotations: { "medmlops.io/suspended-by": "safety-officer" },
  };
  t.cache.put(model);
  const controller = () => medModelControllerWith({ audit: monitor, auditRetryMs: 3000 })(t.deps);
  let c = controller();
  const reconcile = () => c.reconciler.reconcile({ namespace: "rad", name: "chest" }, t.context());
  const restart = () => {
    c = controller();
  };
  const lastStatus = () => t.client.statuses.at(-1)?.["status"] as Status;
  /** The watch delivers our last status write into the cache. */
  const observeOwnWrite = () => {
    const m = t.cache.get<KubeObject>(MedModelKind, { namespace: "rad", name: "chest" })!;
    t.cache.put({
      ...m,
      status: lastStatus(),
      metadata: { ...m.metadata, resourceVersion: String(t.client.rv + 1) },
    });
  };
  return { t, reconcile, restart, lastStatus, observeOwnWrite };
}

const audited = (s: Status) => s.conditions?.find((c) => c.type === "Audited");

describe("MedModel audit entries through the reconciler", () => {
  it("the monitor down: the stop button still acts; the entry waits in status and is written on a later reconcile", async () => {
    const monitor = new FakeMonitor();
    const { t, reconcile, lastStatus, observeOwnWrite } = setup(monitor);
    const r = await reconcile();
    // the action happened: the sidecars' control file says suspended
    const cm = t.client.applied.find((o) => o.kind === "ConfigMap") as KubeObject & {
      data: Record<string, string>;
    };
    expect(JSON.parse(cm.data["control.json"] ?? "{}")).toMatchObject({ suspended: true });
    expect(lastStatus().conditions?.find((c) => c.type === "Suspended")?.status).toBe("True");
    // … and its status says the audit entry is pending, with a retry asked for
    expect(lastStatus().audit?.pending).toEqual([
      expect.objectContaining({
        key: "MedModel/uid-1/suspend/initial",
        action: "Suspend",
        actor: "safety-officer",
      }),
    ]);
    expect(audited(lastStatus())).toMatchObject({ status: "False", reason: "AuditPending" });
    expect(audited(lastStatus())?.message).toContain("(Suspend): the monitor is unreachable");
    expect(r?.requeueAfterMs).toBeLessThanOrEqual(3000);

    observeOwnWrite();
    await reconcile(); // still down: the one entry still waits (no second copy of it)
    expect(lastStatus().audit?.pending?.map((e) => e.key)).toEqual(["MedModel/uid-1/suspend/initial"]);
    expect(monitor.log).toEqual([]);

    monitor.up = true;
    const r2 = await reconcile();
    expect(monitor.log).toEqual([
      {
        action: "Suspend",
        subject: { namespace: "rad", kind: "MedModel", name: "chest" },
        actor: "safety-officer",
        reason: "vendor recall",
        details: { by: "spec.suspend", decidedAt: expect.any(String) },
        key: "MedModel/uid-1/suspend/initial",
      },
    ]);
    expect(lastStatus().audit).toBeUndefined();
    expect(audited(lastStatus())).toMatchObject({ status: "True", reason: "Recorded" });
    expect(r2?.requeueAfterMs).toBeUndefined();

    observeOwnWrite();
    await reconcile();
    expect(monitor.log).toHaveLength(1);
  });

  it("a restart before the status write repeats the same key (the monitor keeps one entry)", async () => {
    const monitor = new FakeMonitor();
    monitor.up = true;
    const { reconcile, restart } = setup(monitor);
    await reconcile(); // entry written; pretend the status write was lost: the cache keeps the old status
    restart();
    await reconcile();
    expect(monitor.calls).toEqual(["MedModel/uid-1/suspend/initial", "MedModel/uid-1/suspend/initial"]);
    expect(monitor.log).toHaveLength(1);
  });

  it("pending entries survive an operator restart (they live in status)", async () => {
    const monitor = new FakeMonitor();
    const { reconcile, restart, observeOwnWrite } = setup(monitor);
    await reconcile();
    observeOwnWrite();
    restart();
    monitor.up = true;
    await reconcile();
    expect(monitor.log.map((e) => e.key)).toEqual(["MedModel/uid-1/suspend/initial"]);
  });

  it("an entry the monitor refuses for good is dropped and counted, not retried forever", async () => {
    const monitor = new FakeMonitor();
    monitor.up = true;
    monitor.refuse = true;
    const { reconcile, lastStatus } = setup(monitor);
    await reconcile();
    expect(lastStatus().audit).toEqual({ dropped: 1 });
    expect(audited(lastStatus())?.message).toContain("1 dropped");
  });

  it("without a monitor no entry is attempted and no Audited condition appears", async () => {
    const t = fakeDeps();
    const model = medModelManifest("chest", "rad", { suspend: true }) as KubeObject;
    model.metadata = { ...model.metadata, uid: "u", generation: 1, resourceVersion: "1" };
    t.cache.put(model);
    await medModelControllerWith({})(t.deps).reconciler.reconcile(
      { namespace: "rad", name: "chest" },
      t.context(),
    );
    const s = t.client.statuses.at(-1)?.["status"] as Status;
    expect(audited(s)).toBeUndefined();
    expect(s.audit).toBeUndefined();
  });
});
