// The ConsentRecord and RetrainJob controllers on the real control plane with a real monitor (PGlite, loopback):
// an opt-out (Deny of every purpose) erases the patient's stored records with the count in status and names the
// RetrainJob that froze them before as tainted (one Warning event); a RetrainJob started afterwards leaves out a
// patient who denied its purpose (excludedByConsent > 0) and holds nothing of the erased one; a trainer that
// overruns trainer.timeout is failed by the real job controller (activeDeadlineSeconds) and the run ends Failed;
// with the monitor down a ConsentRecord reads Enforced=False (MonitorUnavailable), is retried with backoff and
// becomes Enforced=True only once the monitor is back and has enforced it.
import { rmSync } from "node:fs";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPgliteDir, type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { consentRecordController } from "../../operator/consentrecord/controller.ts";
import { ConsentRecordKind, RetrainJobKind } from "../../operator/kinds.ts";
import { Manager } from "../../operator/manager.ts";
import { type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { retrainJobController } from "../../operator/retrainjob/controller.ts";
import { trainJobName } from "../../operator/retrainjob/job.ts";
import { pseudonym, seedLedger } from "../../retrain/testing/ledger.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import { argoHealth } from "../support/argocd-health.ts";
import { harness, type Harness, installCrds, manifest, waitFor } from "./medmodel-support.ts";

type Cond = { type: string; status: string; reason: string; message?: string };
type CR = KubeObject & {
  status?: {
    conditions?: Cond[];
    enforcement?: { casesExcluded?: number; casesErased?: number; datasetsTainted?: string[] };
  };
};
type RJ = KubeObject & {
  status?: {
    phase?: string;
    conditions?: Cond[];
    jobName?: string;
    dataset?: { cases: number; excludedByConsent?: number; manifestSha256: string };
  };
};
type Job = KubeObject & {
  spec?: { activeDeadlineSeconds?: number };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
};

const MODEL = "chest";
const OPTED_OUT = pseudonym(1); // denies every purpose: erased
const NO_SYSDEV = pseudonym(2); // denies model development only: kept, left out of training sets

let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let manager: Manager;
let monitorDir: string;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("consent-retrain");
  h = harness(ns.name);
  // our own PGlite directory: the outage test stops the monitor and brings it back on the same port and data
  monitorDir = await freshPgliteDir();
  monitor = await startMonitor({ dataDir: monitorDir });
  // 30 patients, two annotated CR cases each, recorded two days ago (a quarter a year earlier: historical)
  await seedLedger(monitor.db, {
    namespace: ns.name,
    model: MODEL,
    patients: 30,
    at: new Date(Date.now() - 2 * 86_400_000).toISOString(),
  });
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [
      (deps) => consentRecordController(deps, { monitor: monitor.client }),
      (deps) =>
        retrainJobController(deps, {
          monitor: monitor.client,
          monitorUrl: monitor.url,
          image: "ghcr.io/medmlops/medmlops:test",
          outputClaim: "medmlops-models",
        }),
    ],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `consent-retrain-test-${process.pid}`,
    },
  });
  await manager.start();
  await h.user.apply(manifest(MODEL, ns.name, { activeVersion: "v1" }));
}, 120_000);

afterAll(async () => {
  await manager?.stop();
  await monitor?.stop().catch(() => {});
  await ns?.delete();
  if (monitorDir) rmSync(monitorDir, { recursive: true, force: true });
});

function retrainJob(name: string, timeout = "1h") {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: { name, namespace: ns.name },
    spec: {
      modelRef: { name: MODEL },
      baseVersion: "v1",
      candidateVersion: `v-${name}`,
      dataset: { modalities: ["CR"], purpose: "SYSDEV" },
      trainer: { image: "registry.hospital.example/trainer:1", timeout },
    },
  };
}

function consentRecord(name: string, patient: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ConsentRecord",
    metadata: { name, namespace: ns.name },
    spec: {
      subject: { pseudonym: patient },
      legalBasis: { article6: "6.1.e", article9: "9.2.h" },
      recordedAt: new Date().toISOString(),
      state: "Active",
      ...spec,
    },
  };
}

const getRJ = (name: string) => h.user.get<RJ>(RetrainJobKind, { namespace: ns.name, name });
const getCR = (name: string) => h.user.get<CR>(ConsentRecordKind, { namespace: ns.name, name });
const frozen = (name: string) =>
  waitFor(async () => {
    const rj = await getRJ(name);
    return rj?.status?.dataset ? rj : undefined;
  }, 60_000);

async function storedRecords(patient: string): Promise<number> {
  const { rows } = await monitor.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM records WHERE patient = $1",
    [patient],
  );
  return rows[0]?.n ?? 0;
}

async function consentEvents(name: string, reason: string) {
  const res = await h.rest.request<{
    items: { reason?: string; type?: string; note?: string; regarding?: { kind?: string; name?: string } }[];
  }>("GET", `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
  return res.items.filter(
    (e) => e.regarding?.kind === "ConsentRecord" && e.regarding?.name === name && e.reason === reason,
  );
}

describe("ConsentRecord and RetrainJob on the real control plane", () => {
  it("an opt-out erases the patient's records (count in status) and names the RetrainJob that froze them as tainted", async () => {
    await h.user.apply(retrainJob("before"));
    const before = await frozen("before");
    expect(before.status?.dataset?.cases).toBeGreaterThan(0);
    expect(before.status?.dataset?.excludedByConsent).toBe(0);
    expect((await monitor.client.datasetsContaining(OPTED_OUT)).map((d) => d.job)).toEqual(["before"]);
    expect(await storedRecords(OPTED_OUT)).toBe(2);

    await h.user.apply(consentRecord("opt-out", OPTED_OUT, { decision: "Deny", provisions: [] }));
    const cr = await waitFor(async () => {
      const c = await getCR("opt-out");
      const enforced = c?.status?.conditions?.find((x) => x.type === "Enforced");
      return enforced?.status === "True" ? c : undefined;
    }, 60_000);
    // The chart's Argo CD health check on the status the controller really wrote.
    expect(argoHealth("ConsentRecord", cr).status).toBe("Healthy");
    expect(cr.status?.enforcement?.casesErased).toBeGreaterThanOrEqual(2);
    expect(cr.status?.enforcement?.datasetsTainted).toEqual(["before"]);
    expect(await storedRecords(OPTED_OUT)).toBe(0);
    // the other patients keep their records
    expect(await storedRecords(pseudonym(5))).toBe(2);
    // no pseudonym in status
    expect(JSON.stringify(cr.status)).not.toContain(OPTED_OUT.slice(3));

    const warnings = await waitFor(async () => {
      const evs = await consentEvents("opt-out", "DatasetsTainted");
      return evs.length > 0 ? evs : undefined;
    }, 30_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type).toBe("Warning");
    expect(warnings[0]?.note).toContain("before");
    expect(warnings[0]?.note).not.toContain(OPTED_OUT.slice(3));
  });

  it("a RetrainJob started after the records excludes the patient who denied its purpose and holds nothing of the erased one", async () => {
    await h.user.apply(
      consentRecord("no-model-development", NO_SYSDEV, {
        decision: "Permit",
        provisions: [{ decision: "Deny", purposes: ["SYSDEV"] }],
      }),
    );
    const cr = await waitFor(async () => {
      const c = await getCR("no-model-development");
      return c?.status?.conditions?.find((x) => x.type === "Enforced")?.status === "True" ? c : undefined;
    }, 60_000);
    // not every purpose denied: nothing erased
    expect(cr.status?.enforcement?.casesErased).toBe(0);
    expect(await storedRecords(NO_SYSDEV)).toBe(2);

    await h.user.apply(retrainJob("after"));
    const after = await frozen("after");
    expect(after.status?.dataset?.excludedByConsent).toBe(2);
    // status.dataset.cases counts the training split only, which is drawn per dataset: the manifests, not the
    // counts, say who is in them
    expect((await monitor.client.datasetsContaining(NO_SYSDEV)).map((d) => d.job)).toEqual(["before"]);
    expect((await monitor.client.datasetsContaining(OPTED_OUT)).map((d) => d.job)).toEqual(["before"]);
  });

  it("training runs as a Job owned by the RetrainJob with trainer.timeout as its deadline; overrunning it fails the run", async () => {
    await h.user.apply(retrainJob("slow", "5s"));
    const training = await waitFor(async () => {
      const rj = await getRJ("slow");
      return rj?.status?.phase === "Training" ? rj : undefined;
    }, 60_000);
    expect(training.status?.jobName).toBe(trainJobName("slow"));
    const job = await waitFor(
      () => h.user.get<Job>(Kinds.Job, { namespace: ns.name, name: trainJobName("slow") }),
      30_000,
    );
    expect(job.spec?.activeDeadlineSeconds).toBe(5);
    expect(job.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "RetrainJob",
        name: "slow",
        uid: training.metadata?.uid,
        controller: true,
      }),
    ]);

    // kwok runs no trainer: the real job controller enforces activeDeadlineSeconds
    const failed = await waitFor(async () => {
      const rj = await getRJ("slow");
      return rj?.status?.phase === "Failed" ? rj : undefined;
    }, 90_000);
    const j = await h.user.get<Job>(Kinds.Job, { namespace: ns.name, name: trainJobName("slow") });
    expect(j?.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Failed", status: "True", reason: "DeadlineExceeded" }),
      ]),
    );
    expect(failed.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: "TrainerTimeout" })]),
    );
    // the run that did not overrun is still training
    expect((await getRJ("before"))?.status?.phase).toBe("Training");
  });

  it("with the monitor down a ConsentRecord is not enforced, is retried with backoff, and is enforced once the monitor is back", async () => {
    const patient = pseudonym(7);
    expect(await storedRecords(patient)).toBe(2);
    // settled records stay quiet: a status write must not trigger the next reconcile
    const settledBefore = await reconciles("success");
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await reconciles("success")) - settledBefore).toBeLessThanOrEqual(1);

    const port = Number(new URL(monitor.url).port);
    await monitor.stop();
    const errorsBefore = await reconciles("error");
    await h.user.apply(consentRecord("while-down", patient, { decision: "Deny", provisions: [] }));
    const down = await waitFor(async () => {
      const c = await getCR("while-down");
      return c?.status?.conditions?.find((x) => x.type === "Enforced")?.reason === "MonitorUnavailable"
        ? c
        : undefined;
    }, 30_000);
    expect(down.status?.conditions?.find((x) => x.type === "Enforced")?.status).toBe("False");
    expect(down.status?.enforcement).toBeUndefined();
    // Monitor down: the patient's decision is not enforced yet — Degraded (a person should know), not Progressing.
    expect(argoHealth("ConsentRecord", down).status).toBe("Degraded");
    // for the outage: never reported enforced, retried, and with a growing delay (not a hot loop)
    const outageMs = 6_000;
    const until = Date.now() + outageMs;
    while (Date.now() < until) {
      const c = await getCR("while-down");
      expect(c?.status?.conditions?.find((x) => x.type === "Enforced")?.status).toBe("False");
      // a decision the monitor confirmed before the outage stays in force (it is in the monitor's database)
      expect((await getCR("opt-out"))?.status?.conditions?.find((x) => x.type === "Enforced")?.status).toBe(
        "True",
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    const retries = (await reconciles("error")) - errorsBefore;
    expect(retries).toBeGreaterThanOrEqual(3);
    // exponential from 5 ms doubles past 6 s in about eleven attempts; a fixed short retry would be hundreds
    expect(retries).toBeLessThan(20);

    monitor = await startMonitor({ dataDir: monitorDir, port });
    const up = await waitFor(async () => {
      const c = await getCR("while-down");
      return c?.status?.conditions?.find((x) => x.type === "Enforced")?.status === "True" ? c : undefined;
    }, 90_000);
    // reported enforced only once the monitor holds the decision and has erased the patient's records
    expect(await storedRecords(patient)).toBe(0);
    const { rows } = await monitor.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM consent WHERE pseudonym = $1",
      [patient],
    );
    expect(rows[0]?.n).toBe(1);
    expect(up.status?.enforcement?.casesErased).toBeGreaterThanOrEqual(2);
    expect(argoHealth("ConsentRecord", up).status).toBe("Healthy");
    expect((up.status?.enforcement as { lastEnforcedAt?: string })?.lastEnforcedAt).toBeDefined();
  }, 150_000);
});

/** The operator's own count of ConsentRecord reconciles by result (each error is a retry the work queue schedules). */
async function reconciles(result: "success" | "error"): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${manager.port}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) =>
      l.startsWith(`medmlops_operator_reconcile_total{controller="consentrecord",result="${result}"}`),
    );
  return line ? Number(line.split(" ").pop()) : 0;
}
