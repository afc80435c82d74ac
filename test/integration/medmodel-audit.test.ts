// MedModel audit entries on the real control plane with a real monitor (PGlite, loopback): a rollout and a
// crash-loop failover each become exactly one entry (Promotion, Failover with its cause), `medmlops audit verify`
// — the real CLI, as a process — passes; with the monitor unreachable the stop button still acts, the status
// carries the entry (Audited=False AuditPending) and it is written, once, when the monitor is back.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, type AuditInput, MonitorClient } from "../../monitor/client.ts";
import { type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { Manager } from "../../operator/manager.ts";
import { medModelControllerWith } from "../../operator/medmodel/index.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import {
  condition,
  FAST,
  getModel,
  harness,
  type Harness,
  installCrds,
  manifest,
  type MM,
  patchPodStatus,
  stableSelector,
  waitFor,
} from "./medmodel-support.ts";

const BIN = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));

let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let manager: Manager;
/** The real monitor, or — while `down` — a client of a closed loopback port (connection refused). */
const sink = {
  down: false,
  unreachable: new MonitorClient("http://127.0.0.1:9", { timeoutMs: 2000 }),
  appendAudit(e: AuditInput) {
    return (sink.down ? sink.unreachable : monitor.client).appendAudit(e);
  },
};

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("mm-audit");
  h = harness(ns.name);
  monitor = await startMonitor();
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [medModelControllerWith({ decision: FAST, audit: sink, auditRetryMs: 1000 })],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `mm-audit-test-${process.pid}`,
    },
  });
  await manager.start();
});

afterAll(async () => {
  await manager?.stop();
  await monitor?.stop().catch(() => {});
  await ns?.delete();
});

async function entriesOf(name: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of monitor.client.listAudit()) if (e.subject.name === name) out.push(e);
  return out;
}

function verify(): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, "audit", "verify", "--monitor-url", monitor.url],
      { encoding: "utf8", timeout: 60_000 },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

type Audited = MM & { status?: { audit?: { pending?: { key: string; action: string }[] } } };

describe("MedModel audit entries on the real control plane", () => {
  it("a promotion and a crash-loop failover: one entry each, Audited=True, and the chain verifies", async () => {
    const spec = (activeVersion: string) => ({
      activeVersion,
      rollout: { strategy: "BlueGreen", requireValidation: false },
      failover: { unavailableAfter: "60s" },
    });
    await h.user.apply(manifest("chest", ns.name, spec("v1")));
    await waitFor(
      async () => (await getModel(h, ns.name, "chest"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("chest", ns.name, spec("v2")));
    await waitFor(
      async () => (await stableSelector(h, ns.name, "chest"))?.["medmlops.io/version"] === "v2",
      30_000,
    );
    await patchPodStatus(h, ns.name, "chest", "v2", "CrashLoopBackOff");
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return x?.status?.failover?.count === 1 && condition(x, "Audited")?.status === "True" ? x : undefined;
    }, 30_000);
    expect(m.status?.activeVersion).toBe("v1");
    expect((m as Audited).status?.audit).toBeUndefined();

    const uid = m.metadata?.uid;
    // a few more reconciles (pod updates, requeues) must not add entries
    await new Promise((r) => setTimeout(r, 3000));
    const entries = await entriesOf("chest");
    expect(entries.filter((e) => e.action === "Failover")).toEqual([
      expect.objectContaining({
        subject: { namespace: ns.name, kind: "MedModel", name: "chest" },
        actor: "medmlops-operator",
        details: expect.objectContaining({
          from: "v2",
          to: "v1",
          cause: "CrashLoopBackOff",
          failoverCount: "1",
        }),
        key: `MedModel/${uid}/failover/1`,
      }),
    ]);
    expect(entries.filter((e) => e.action === "Promotion").map((e) => e.details["version"])).toEqual(["v2"]);
    expect(new Set(entries.map((e) => e.key)).size).toBe(entries.length);

    const v = await verify();
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true });
  });

  it("the monitor unreachable: the stop button acts, the entry waits in status, then is written once", async () => {
    sink.down = true;
    await h.user.apply(manifest("stop", ns.name, { activeVersion: "v1" }));
    await waitFor(
      async () => condition(await getModel(h, ns.name, "stop"), "Ready")?.status === "True",
      30_000,
    );
    const stopped = manifest("stop", ns.name, {
      activeVersion: "v1",
      suspend: true,
      suspendReason: "vendor recall",
    });
    stopped.metadata = { ...stopped.metadata, annotations: { "medmlops.io/suspended-by": "safety-officer" } };
    await h.user.apply(stopped);

    const pending = await waitFor(async () => {
      const x = (await getModel(h, ns.name, "stop")) as Audited | undefined;
      return x?.status?.audit?.pending?.some((p) => p.action === "Suspend") ? x : undefined;
    }, 30_000);
    // the action is not held back: suspended in status and in the sidecars' control file
    expect(condition(pending, "Suspended")?.status).toBe("True");
    expect(condition(pending, "Audited")).toMatchObject({ status: "False", reason: "AuditPending" });
    const cm = await h.rest.request<{ data: Record<string, string> }>(
      "GET",
      `/api/v1/namespaces/${ns.name}/configmaps/stop-signature`,
    );
    expect(JSON.parse(cm.data["control.json"] ?? "{}")).toMatchObject({ suspended: true });
    expect(await entriesOf("stop")).toEqual([]);

    sink.down = false;
    await waitFor(
      async () => condition(await getModel(h, ns.name, "stop"), "Audited")?.status === "True",
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const entries = await entriesOf("stop");
    expect(entries.map((e) => [e.action, e.actor, e.reason])).toEqual([
      ["Suspend", "safety-officer", "vendor recall"],
    ]);
    expect(((await getModel(h, ns.name, "stop")) as Audited).status?.audit).toBeUndefined();
    expect((await verify()).code).toBe(0);
  });
});
