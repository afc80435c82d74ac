// RetrainJobs run through every phase on the real control plane, with a real monitor (PGlite, loopback):
// the operator's RetrainJob controller creates the training and evaluation Jobs, the real job controller makes
// their pods, and the test plays the kubelet for those pods (test/support/process-kubelet.ts): it runs the pod's
// own containers — `medmlops fetch-model`, `medmlops dataset materialize`, a small real trainer, `medmlops
// evaluate` — as local processes on real files and ONNX models, then writes the pod status a kubelet writes
// (exit codes, the trainer's termination message, phase). Why the test and not kwok: kwok runs no containers and
// its pod-complete stage would mark a Job's pod Succeeded at once with no termination message. The pods stay
// unscheduled on purpose — the claim the trainer writes to is a local directory here, not a PersistentVolumeClaim,
// so the scheduler leaves them Pending and kwok never sees them. Everything the operator reads is what it reads
// in a hospital: Job conditions set by the real job controller, the pod's termination message, the monitor.
//
// The monitor serves HTTPS, as the chart deploys it: the operator trusts it with its CA (--monitor-ca) and hands
// that CA to the Jobs (a ConfigMap owned by the RetrainJob, mounted into materialize and evaluate).
//
// Cases: a candidate that passes the gate waits in AwaitingApproval until the policy's two approvals are
// recorded, then is appended to the MedModel's spec.versions (field manager medmlops-retrainjob; activeVersion
// untouched); a candidate below a performance floor and one that degrades the sites are Rejected, each with the
// reason in a condition and a Warning Event; the audit chain holds DatasetFrozen, EvaluationResult and Approval
// entries and the real `medmlops audit verify` passes on it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../monitor/client.ts";
import { type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { MedModelKind, RetrainJobKind } from "../../operator/kinds.ts";
import { Manager } from "../../operator/manager.ts";
import { medModelManifest } from "../../operator/medmodel/fixtures.ts";
import { type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { CANDIDATE_FIELD_MANAGER, retrainJobController } from "../../operator/retrainjob/controller.ts";
import { evalJobName, trainJobName } from "../../operator/retrainjob/job.ts";
import { pseudonym, seedLedger } from "../../retrain/testing/ledger.ts";
import { linearModel } from "../../retrain/testing/linear-model.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import { argoHealth } from "../support/argocd-health.ts";
import { repoRoot } from "../cluster/paths.ts";
import { type ImageMap, type PodObject, runPod } from "../support/process-kubelet.ts";
import { makePki, type Pki } from "../support/certs.ts";
import { harness, type Harness, installCrds, waitFor } from "./medmodel-support.ts";

type Cond = { type: string; status: string; reason: string; message?: string };
type RJ = KubeObject & {
  status?: {
    phase?: string;
    message?: string;
    conditions?: Cond[];
    dataset?: { cases: number; manifestSha256: string };
    candidate?: { uri: string; sha256: string };
  };
};
type Job = KubeObject & {
  spec?: { activeDeadlineSeconds?: number; template: { spec: PodObject["spec"] } };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
};
type MM = KubeObject & {
  spec?: { activeVersion?: string; versions?: { name: string; source: { uri: string; sha256: string } }[] };
};

const MODEL = "chest";
const IMAGE = "ghcr.io/medmlops/medmlops:test";
const TRAINER_IMAGE = "registry.hospital.example/tiny-trainer:1";
const CLAIM = "medmlops-models";
const BIN = join(repoRoot, "bin/medmlops.js");
const TSX = join(repoRoot, "node_modules/.bin/tsx");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const work = mkdtempSync(join(tmpdir(), "medmlops-retrain-run-"));
const pvRoot = join(work, "pv");
let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let manager: Manager;
let pki: Pki;

// The local programs that stand for the two images (the medmlops image's fetch-model finds claims under
// --pvc-root, which the pod mounts at /sources/pvc/<claim>; the trainer image runs the tiny real trainer).
const images: ImageMap = {
  [IMAGE]: ({ argv, path, terminationLog }) => {
    expect(argv[0]).toBe("medmlops");
    const extra =
      argv[1] === "fetch-model"
        ? ["--pvc-root", path("/sources/pvc"), "--termination-log", terminationLog]
        : [];
    return { argv: [process.execPath, BIN, ...argv.slice(1), ...extra] };
  },
  [TRAINER_IMAGE]: ({ argv }) => {
    expect(argv).toEqual(["/opt/trainer/train"]);
    return { argv: [TSX, join(repoRoot, "retrain/testing/tiny-trainer.ts")] };
  },
};

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("retrain-run");
  h = harness(ns.name);
  pki = makePki();
  const cert = pki.issue("monitor", { server: true });
  monitor = await startMonitor({
    security: { tls: { certFile: cert.cert, keyFile: cert.key }, clientAuth: "none" },
    clientTls: { caFile: pki.caCert },
  });
  expect(monitor.url).toMatch(/^https:/);
  // 80 patients, two annotated CR cases each (a feature separates the classes: the tiny trainer learns it)
  await seedLedger(monitor.db, {
    namespace: ns.name,
    model: MODEL,
    patients: 80,
    at: new Date(Date.now() - 2 * 86_400_000).toISOString(),
  });
  // the base version: a weak linear model on the claim's directory
  const base = linearModel([0.2, 1], 0);
  mkdirSync(join(pvRoot, CLAIM, "base"), { recursive: true });
  writeFileSync(join(pvRoot, CLAIM, "base/chest-v1.onnx"), base);
  await h.user.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "medmlops-deid-key", namespace: ns.name },
    stringData: { "hmac-key": "k".repeat(48) },
  });
  await h.user.apply(
    medModelManifest(MODEL, ns.name, {
      versions: [{ name: "v1", source: { uri: `pvc://${CLAIM}/base/chest-v1.onnx`, sha256: sha256(base) } }],
      activeVersion: "v1",
    }),
  );
  const policy = (name: string, changeControl: Record<string, unknown>) => ({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { name, namespace: ns.name },
    spec: { modelRef: { name: MODEL }, metrics: [{ name: "accuracy", min: 0.5 }], changeControl },
  });
  await h.user.apply(
    policy("two-approvals", {
      // checked per site on the lower bound: the split (seeded by the job's uid) can leave a site a dozen test
      // cases, whose bound for a perfect model is ~0.76; 0.5 holds from four cases up
      performanceFloors: [{ metric: "accuracy", min: 0.5 }],
      maxSiteDegradation: 0.02,
      approvalsRequired: 2,
    }),
  );
  // a lower bound of 0.99 needs hundreds of test cases even for a perfect model: rejected by the floor alone
  await h.user.apply(
    policy("strict-floor", { performanceFloors: [{ metric: "accuracy", min: 0.99 }], maxSiteDegradation: 1 }),
  );
  await h.user.apply(policy("no-floors", { performanceFloors: [], maxSiteDegradation: 0.05 }));
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [
      (deps) =>
        retrainJobController(deps, {
          monitor: monitor.client,
          monitorUrl: monitor.url,
          image: IMAGE,
          outputClaim: CLAIM,
        }),
    ],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: IMAGE,
      identity: `retrain-run-test-${process.pid}`,
      monitorCa: () => readFileSync(pki.caCert, "utf8"),
    },
  });
  await manager.start();
}, 120_000);

afterAll(async () => {
  await manager?.stop();
  await monitor?.stop().catch(() => {});
  pki?.remove();
  await ns?.delete();
  rmSync(work, { recursive: true, force: true });
});

function retrainJob(name: string, policy: string, trainerEnv: { name: string; value: string }[] = []) {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: { name, namespace: ns.name },
    spec: {
      modelRef: { name: MODEL },
      baseVersion: "v1",
      candidateVersion: `v-${name}`,
      dataset: { modalities: ["CR"], purpose: "SYSDEV", sequesteredTestFraction: 0.3 },
      trainer: { image: TRAINER_IMAGE, command: ["/opt/trainer/train"], env: trainerEnv, timeout: "30m" },
      evaluation: { policyRef: { name: policy }, perSite: true },
      promotion: { mode: "Manual" },
    },
  };
}

const getRJ = (name: string) => h.user.get<RJ>(RetrainJobKind, { namespace: ns.name, name });
const getJob = (name: string) => h.user.get<Job>(Kinds.Job, { namespace: ns.name, name });
const inPhase = (name: string, phase: string, ms = 90_000) =>
  waitFor(async () => {
    const rj = await getRJ(name);
    if (rj?.status?.phase === phase) return rj;
    // the failure says where the run stood
    throw new Error(
      `${name}: ${rj?.status?.phase} ${rj?.status?.message} ${JSON.stringify(rj?.status?.conditions)}`,
    );
  }, ms);
const condition = (rj: RJ | undefined, type: string) => rj?.status?.conditions?.find((c) => c.type === type);

/** The Job's pod as the real job controller created it, run by the test's kubelet; every container must succeed. */
async function kubeletRuns(job: string) {
  const pod = await waitFor(async () => {
    const list = await h.rest.request<{ items: PodObject[] }>("GET", `/api/v1/namespaces/${ns.name}/pods`, {
      query: { labelSelector: `job-name=${job}` },
    });
    return list.items[0];
  }, 60_000);
  expect(pod.spec?.nodeName, "the pod must stay unscheduled (see the header)").toBeUndefined();
  const out = await runPod(pod, { rest: h.rest, root: join(work, "kubelet"), pvRoot, images });
  for (const c of [...out.initContainers, ...out.containers])
    expect(c.exitCode, `${c.name}: ${c.stderr}`).toBe(0);
  expect(out.phase).toBe("Succeeded");
  return out;
}

/** The real job controller's verdict on a Job whose pod the kubelet reported. */
const jobComplete = (name: string) =>
  waitFor(async () => {
    const j = await getJob(name);
    return j?.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ? j : undefined;
  }, 60_000);

async function audit(name: string): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  for await (const e of monitor.client.listAudit()) all.push(e);
  return all.filter((e) => e.subject.kind === "RetrainJob" && e.subject.name === name);
}

async function warnings(name: string, reason: string) {
  const res = await h.rest.request<{
    items: { reason?: string; type?: string; note?: string; regarding?: { kind?: string; name?: string } }[];
  }>("GET", `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
  return res.items.filter(
    (e) => e.regarding?.kind === "RetrainJob" && e.regarding?.name === name && e.reason === reason,
  );
}

/** Train and evaluate through the kubelet; returns the RetrainJob once the evaluation report is in. */
async function trainAndEvaluate(name: string, until: string): Promise<{ rj: RJ; trainMessage: string }> {
  await inPhase(name, "Training");
  const train = await waitFor(() => getJob(trainJobName(name)), 30_000);
  expect(train.metadata?.ownerReferences).toEqual([
    expect.objectContaining({ kind: "RetrainJob", name, controller: true }),
  ]);
  expect(train.spec?.activeDeadlineSeconds).toBe(1800);
  expect(train.spec?.template.spec?.initContainers?.map((c) => c.name)).toEqual([
    "fetch-base",
    "materialize",
  ]);
  expect(train.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["trainer"]);
  const trained = await kubeletRuns(trainJobName(name));
  await jobComplete(trainJobName(name));
  await inPhase(name, "Evaluating");
  const evaluate = await waitFor(() => getJob(evalJobName(name)), 30_000);
  expect(evaluate.spec?.template.spec?.initContainers?.map((c) => c.name)).toEqual([
    "fetch-base",
    "fetch-candidate",
    "materialize",
  ]);
  await kubeletRuns(evalJobName(name));
  await jobComplete(evalJobName(name));
  return { rj: await inPhase(name, until), trainMessage: trained.containers[0]?.message ?? "" };
}

describe("RetrainJob runs on the real control plane", () => {
  it("trains, evaluates, waits for two approvals and appends the candidate as a version (never active)", async () => {
    await h.user.apply(retrainJob("improve", "two-approvals"));
    const { rj, trainMessage } = await trainAndEvaluate("improve", "AwaitingApproval");

    // the candidate in status is the file the trainer wrote, as its termination message said
    const file = join(pvRoot, CLAIM, "retrain", ns.name, "improve", "model.onnx");
    expect(existsSync(file)).toBe(true);
    const fileSha = sha256(readFileSync(file));
    expect(JSON.parse(trainMessage).sha256).toBe(fileSha);
    expect(rj.status?.candidate).toEqual({
      sha256: fileSha,
      uri: `pvc://${CLAIM}/retrain/${ns.name}/improve/model.onnx`,
    });
    expect(condition(rj, "Evaluated")).toMatchObject({ status: "True", reason: "Passed" });
    expect(condition(rj, "Approved")).toMatchObject({ status: "False", reason: "AwaitingApproval" });
    expect(rj.status?.message).toBe("awaiting approval (0/2)");
    // The chart's Argo CD health check on the status the controller really wrote: waiting for people is Suspended.
    expect(argoHealth("RetrainJob", rj)).toEqual({ status: "Suspended", message: "awaiting approval (0/2)" });

    // one approval of two: still waiting, nothing appended
    const approval = (approver: string, role: string) => ({ approver, role, at: new Date().toISOString() });
    await h.user.mergePatch(
      RetrainJobKind,
      { namespace: ns.name, name: "improve" },
      { spec: { promotion: { approvals: [approval("dr-lead", "clinical-lead")] } } },
    );
    await waitFor(async () => {
      const r = await getRJ("improve");
      return r?.status?.message === "awaiting approval (1/2)" ? r : undefined;
    }, 30_000);
    const model1 = await h.user.get<MM>(MedModelKind, { namespace: ns.name, name: MODEL });
    expect(model1?.spec?.versions?.map((v) => v.name)).toEqual(["v1"]);

    await h.user.mergePatch(
      RetrainJobKind,
      { namespace: ns.name, name: "improve" },
      {
        spec: {
          promotion: { approvals: [approval("dr-lead", "clinical-lead"), approval("qa-officer", "qa-ra")] },
        },
      },
    );
    const done = await inPhase("improve", "Succeeded", 60_000);
    expect(condition(done, "Ready")).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(argoHealth("RetrainJob", done).status).toBe("Healthy");

    const model = await h.user.get<MM>(MedModelKind, { namespace: ns.name, name: MODEL });
    expect(model?.spec?.activeVersion).toBe("v1");
    expect(model?.spec?.versions?.find((v) => v.name === "v-improve")?.source).toEqual(
      done.status?.candidate,
    );
    const managers = (model?.metadata?.managedFields ?? []) as {
      manager?: string;
      operation?: string;
      fieldsV1?: { "f:spec"?: Record<string, unknown> };
    }[];
    const ours = managers.find((m) => m.manager === CANDIDATE_FIELD_MANAGER);
    expect(ours?.operation).toBe("Apply");
    expect(Object.keys(ours?.fieldsV1?.["f:spec"]?.["f:versions"] as object)).toEqual([
      'k:{"name":"v-improve"}',
    ]);
    expect(ours?.fieldsV1?.["f:spec"]?.["f:activeVersion"]).toBeUndefined();

    // the audit trail, in order, before the steps were reported done
    const entries = await audit("improve");
    const actions = entries.map((e) => e.action);
    for (const a of [
      "DatasetFrozen",
      "TrainingFinished",
      "EvaluationResult",
      "Approval",
      "CandidateAppended",
    ]) {
      expect(actions).toContain(a);
    }
    // each step recorded once, however often the run was reconciled (idempotency keys)
    expect(actions.length).toBe(new Set(actions).size);
    const at = (a: string) => actions.indexOf(a);
    expect(at("DatasetFrozen")).toBeLessThan(at("EvaluationResult"));
    expect(at("EvaluationResult")).toBeLessThan(at("Approval"));
    expect(at("Approval")).toBeLessThan(at("CandidateAppended"));
    const frozen = entries.find((e) => e.action === "DatasetFrozen");
    expect(frozen?.details["manifestSha256"]).toBe(done.status?.dataset?.manifestSha256);
    expect(entries.find((e) => e.action === "EvaluationResult")?.details["pass"]).toBe(true);
    const approvers = entries.find((e) => e.action === "Approval")?.details["approvers"] as
      | { approver: string }[]
      | undefined;
    expect(approvers?.map((a) => a.approver)).toEqual(["dr-lead", "qa-officer"]);
    expect(JSON.stringify(entries)).not.toContain(pseudonym(1).slice(3));
  }, 300_000);

  it("a candidate below a performance floor is Rejected with the reason in a condition and an Event", async () => {
    await h.user.apply(retrainJob("strict", "strict-floor"));
    const { rj } = await trainAndEvaluate("strict", "Rejected");
    expect(condition(rj, "Evaluated")).toMatchObject({ status: "False", reason: "BelowFloor" });
    expect(condition(rj, "Ready")).toMatchObject({ status: "False", reason: "BelowFloor" });
    expect(condition(rj, "Ready")?.message).toContain("accuracy at site");
    expect(argoHealth("RetrainJob", rj).status).toBe("Degraded");
    expect(argoHealth("RetrainJob", rj).message).toMatch(/^Rejected: /);
    const events = await waitFor(async () => {
      const e = await warnings("strict", "BelowFloor");
      return e.length > 0 ? e : undefined;
    }, 30_000);
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe("Warning");
    const model = await h.user.get<MM>(MedModelKind, { namespace: ns.name, name: MODEL });
    expect(model?.spec?.versions?.map((v) => v.name)).not.toContain("v-strict");
    const entries = await audit("strict");
    expect(entries.find((e) => e.action === "EvaluationResult")?.details).toMatchObject({
      pass: false,
      reason: "BelowFloor",
    });
    expect(entries.map((e) => e.action)).toContain("RetrainRejected");
  }, 300_000);

  it("a candidate worse than the base at the sites is Rejected by site degradation; the audit chain verifies", async () => {
    // the trainer learns the wrong sign: a real model, much worse than v1 at both sites
    await h.user.apply(retrainJob("inverted", "no-floors", [{ name: "TRAINER_INVERT", value: "1" }]));
    const { rj } = await trainAndEvaluate("inverted", "Rejected");
    expect(condition(rj, "Evaluated")).toMatchObject({ status: "False", reason: "SiteDegradation" });
    expect(condition(rj, "Ready")?.message).toMatch(
      /accuracy at site \*: 0\.\d+ vs 0\.\d+ for the compared-to version/,
    );
    const events = await waitFor(async () => {
      const e = await warnings("inverted", "SiteDegradation");
      return e.length > 0 ? e : undefined;
    }, 30_000);
    expect(events[0]?.type).toBe("Warning");
    const evaluated = (await audit("inverted")).find((e) => e.action === "EvaluationResult")?.details;
    expect(evaluated).toMatchObject({ pass: false, reason: "SiteDegradation" });
    // every site, not only the pooled figure, is worse than v1
    const rows = evaluated?.["rows"] as { site: string; metric: string; pass: boolean }[];
    expect(new Set(rows.filter((r) => r.metric === "accuracy" && !r.pass).map((r) => r.site))).toEqual(
      new Set(["*", "site-a", "site-b"]),
    );

    // the whole chain (three runs) recomputes: the real CLI, as an auditor would run it
    const verify = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [BIN, "audit", "verify", "--monitor-url", monitor.url, "--monitor-ca", pki.caCert],
        { encoding: "utf8", timeout: 60_000 },
        (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    );
    expect(verify.code, verify.stdout).toBe(0);
    const result = JSON.parse(verify.stdout.trim().split("\n").pop() as string);
    expect(result.ok).toBe(true);
    let n = 0;
    for await (const _ of monitor.client.listAudit()) n++;
    expect(result.entries).toBe(n);
  }, 300_000);
});
