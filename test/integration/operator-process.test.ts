// The operator as a hospital runs it: one real `medmlops operator` process with every controller enabled
// (--monitor-url, --retrain-jobs true) against the real API server and a real monitor. Each controller's own suite
// builds it alone (or two together); this one proves they start together — the RetrainJob controller's Pod watch
// once made the whole process refuse to start beside the MedModel controller — and that each of the four kinds is
// reconciled by the one process.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPgliteDir, type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { ConsentRecordKind, RetrainJobKind, ValidationPolicyKind } from "../../operator/kinds.ts";
import type { KubeObject } from "../../operator/runtime/index.ts";
import { pseudonym, seedLedger } from "../../retrain/testing/ledger.ts";
import { type FreshNamespace, freshNamespace, kubeconfigPath } from "../cluster/client.ts";
import { getModel, harness, type Harness, installCrds, manifest, waitFor } from "./medmodel-support.ts";

const BIN = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));
const MODEL = "chest";

type Cond = { type: string; status: string; reason?: string };
type Status = { observedGeneration?: number; phase?: string; conditions?: Cond[] };
type Obj = KubeObject & { status?: Status & Record<string, unknown> };

let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let monitorDir: string;
let operator: ChildProcess;
let exited: number | null | undefined;
let port: number;
let stderr = "";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("operator-process");
  h = harness(ns.name);
  monitorDir = await freshPgliteDir();
  monitor = await startMonitor({ dataDir: monitorDir });
  await seedLedger(monitor.db, {
    namespace: ns.name,
    model: MODEL,
    patients: 12,
    at: new Date(Date.now() - 86_400_000).toISOString(),
  });
  port = await freePort();
  operator = spawn(
    process.execPath,
    [
      BIN,
      "operator",
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${ns.name}`,
      `--monitor-url=${monitor.url}`,
      "--retrain-jobs=true",
      `--metrics-port=${port}`,
      "--sidecar-image=ghcr.io/medmlops/medmlops:test",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" } },
  );
  operator.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  operator.on("exit", (code) => {
    exited = code;
  });
}, 120_000);

afterAll(async () => {
  if (operator && operator.exitCode === null) {
    operator.kill("SIGTERM");
    await new Promise((r) => operator.once("exit", r));
  }
  await monitor?.stop().catch(() => {});
  await ns?.delete();
  if (monitorDir) rmSync(monitorDir, { recursive: true, force: true });
});

const get = (kind: typeof ConsentRecordKind, name: string) =>
  h.user.get<Obj>(kind, { namespace: ns.name, name });

describe("one operator process with every controller", () => {
  it("starts, syncs its caches and stays up", async () => {
    await waitFor(
      async () => {
        if (exited !== undefined) throw new Error(`operator exited ${exited}: ${stderr}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
      },
      60_000,
      250,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const c of ["medmodel", "validationpolicy", "retrainjob", "consentrecord"]) {
      expect(metrics).toContain(`controller="${c}"`);
    }
  });

  it("reconciles all four kinds", async () => {
    await h.user.apply(manifest(MODEL, ns.name, { activeVersion: "v1" }));
    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ValidationPolicy",
      metadata: { name: "chest-policy", namespace: ns.name },
      spec: {
        modelRef: { name: MODEL },
        metrics: [{ name: "sensitivity", min: 0.8 }],
        schedule: { interval: "1h" },
      },
    });
    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "ConsentRecord",
      metadata: { name: "optout", namespace: ns.name },
      spec: {
        subject: { pseudonym: pseudonym(3) },
        legalBasis: { article6: "6.1.e", article9: "9.2.h" },
        recordedAt: new Date().toISOString(),
        state: "Active",
        decision: "Permit",
        provisions: [{ decision: "Deny", purposes: ["SYSDEV"] }],
      },
    });
    const model = await waitFor(async () => {
      const m = await getModel(h, ns.name, MODEL);
      return m?.status?.["observedGeneration"] === m?.metadata?.generation ? m : undefined;
    }, 60_000);
    expect(model.status?.["activeVersion"]).toBe("v1");

    const policy = await waitFor(async () => {
      const p = await get(ValidationPolicyKind, "chest-policy");
      return p?.status?.observedGeneration ? p : undefined;
    }, 60_000);
    expect(policy.status?.conditions?.map((c) => c.type)).toContain("Ready");

    const consent = await waitFor(async () => {
      const c = await get(ConsentRecordKind, "optout");
      return c?.status?.conditions?.find((x) => x.type === "Enforced" && x.status === "True") ? c : undefined;
    }, 60_000);
    expect(consent.status?.observedGeneration).toBe(consent.metadata?.generation);

    // a RetrainJob started once the opt-out is enforced
    await h.user.apply({
      apiVersion: "medmlops.io/v1alpha1",
      kind: "RetrainJob",
      metadata: { name: "rt", namespace: ns.name },
      spec: {
        modelRef: { name: MODEL },
        baseVersion: "v1",
        candidateVersion: "v-rt",
        dataset: { modalities: ["CR"], purpose: "SYSDEV" },
        trainer: { image: "registry.hospital.example/trainer:1", timeout: "1h" },
      },
    });

    // the dataset is frozen through the monitor (the consent above leaves its patient out) and training starts
    const job = await waitFor(async () => {
      const j = await get(RetrainJobKind, "rt");
      return j?.status?.phase === "Training" ? j : undefined;
    }, 60_000);
    const dataset = job.status?.["dataset"] as { cases: number; excludedByConsent: number };
    expect(dataset.cases).toBeGreaterThan(0);
    expect(dataset.excludedByConsent).toBeGreaterThan(0);
    expect(exited).toBeUndefined();
  });
});
