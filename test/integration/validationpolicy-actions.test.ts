// The ValidationPolicy's Suspend and Retrain actions and an operator restart mid-episode, on the real control
// plane with a real monitor (PGlite, loopback) and the operator's Manager in-process (MedModel + ValidationPolicy
// controllers), as validationpolicy.test.ts does for Failover, drift and a monitor outage:
// - Suspend: annotated records below the sensitivity floor → the MedModel goes Suspended, reason PolicyBreach; the
//   metric recovers and the episode ends → still Suspended; the documented resume annotations → it serves again.
// - Retrain: exactly one RetrainJob (deterministic name) across several evaluations; a policy whose
//   changeControl does not allow Retraining → one Warning RetrainNotAllowed and no RetrainJob.
// - Restart: the Manager stopped mid-episode and a new one started → no second failover, RetrainJob or event.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedMonitor, startMonitor } from "../../monitor/testing/index.ts";
import { ValidationPolicyKind } from "../../operator/kinds.ts";
import { Manager } from "../../operator/manager.ts";
import { medModelControllerWith } from "../../operator/medmodel/index.ts";
import type { KubeObject } from "../../operator/runtime/index.ts";
import { validationPolicyController } from "../../operator/validationpolicy/controller.ts";
import { retrainJobName } from "../../operator/validationpolicy/retrain.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import {
  condition,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

type Episode = {
  key: string;
  type: string;
  version: string;
  actions?: string[];
  endedAt?: string;
  clearEvaluations?: number;
  resumed?: { by: string; reason: string };
  retrainJob?: string;
};
type VP = KubeObject & {
  status?: {
    lastEvaluation?: string;
    conditions?: { type: string; status: string; reason: string }[];
    episodes?: Episode[];
  };
};

let ns: FreshNamespace;
let h: Harness;
let monitor: StartedMonitor;
let manager: Manager | undefined;
let starts = 0;

async function startManager(): Promise<Manager> {
  starts++;
  const m = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [
      medModelControllerWith({ decision: FAST }),
      (deps) => validationPolicyController(deps, { monitor: monitor.client, firstRecords: 10 }),
    ],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `vp-actions-${process.pid}-${starts}`,
    },
  });
  await m.start();
  return m;
}

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("vpactions");
  h = harness(ns.name);
  monitor = await startMonitor();
  manager = await startManager();
});

afterAll(async () => {
  await manager?.stop();
  await monitor?.stop().catch(() => {});
  await ns?.delete();
});

const policy = async (name: string) => h.user.get<VP>(ValidationPolicyKind, { namespace: ns.name, name });
const vpCondition = (p: VP | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Events about `name` with `reason`, counting an Event series as its count (the recorder folds repeats). */
async function eventCount(kind: string, name: string, reason: string): Promise<number> {
  const res = await h.rest.request<{
    items: { reason?: string; series?: { count?: number }; regarding?: { kind?: string; name?: string } }[];
  }>("GET", `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
  return res.items
    .filter((e) => e.regarding?.kind === kind && e.regarding?.name === name && e.reason === reason)
    .reduce((n, e) => n + (e.series?.count ?? 1), 0);
}

async function retrainJobs(): Promise<{ name: string; policy?: string; baseVersion?: string }[]> {
  const res = await h.rest.request<{
    items: (KubeObject & { spec?: { baseVersion?: string } })[];
  }>("GET", `/apis/medmlops.io/v1alpha1/namespaces/${ns.name}/retrainjobs`);
  return res.items.map((j) => ({
    name: j.metadata?.name ?? "",
    policy: j.metadata?.labels?.["medmlops.io/policy"],
    baseVersion: j.spec?.baseVersion,
  }));
}

/** The audit log's entries about a policy, as `<action> <episode>/<what>` (what: the action, started, ended). */
async function auditOf(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of monitor.client.listAudit()) {
    if (e.subject.kind !== "ValidationPolicy" || e.subject.name !== name || e.subject.namespace !== ns.name)
      continue;
    const d = e.details as { episode?: string; action?: string; state?: string };
    out.push(`${e.action} ${d.episode}/${d.action ?? d.state ?? ""}`);
  }
  return out.sort();
}

/** `n` annotated positive cases on `version`; the model calls the first `called` of them positive. */
async function annotatedPositives(model: string, version: string, prefix: string, n: number, called: number) {
  const time = new Date().toISOString();
  const cases = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const rec = await monitor.client.postRecords(
    cases.map((caseId, i) => ({
      time,
      namespace: ns.name,
      model,
      version,
      caseId,
      inputs: { "image:mean": 0.5 },
      outputs: { "score:finding": i < called ? 0.9 : 0.1 },
      decision: { label: "finding", score: i < called ? 0.9 : 0.1, positive: i < called },
    })),
  );
  expect(rec.accepted).toBe(n);
  const ann = await monitor.client.postAnnotations(
    cases.map((caseId) => ({
      namespace: ns.name,
      model,
      caseId,
      positive: true,
      time,
      source: "reader" as const,
    })),
  );
  expect(ann.accepted).toBe(n);
}

function policyManifest(name: string, model: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { name, namespace: ns.name },
    spec: {
      modelRef: { name: model },
      sampling: { rate: 1 },
      metrics: [{ name: "sensitivity", min: 0.8, minSamples: 20 }],
      schedule: { interval: "2s" }, // recoveryEvaluations: the default, 2
      ...spec,
    },
  };
}

/** Resolves once the policy has been evaluated `n` more times (lastEvaluation moved n times). */
async function evaluations(name: string, n: number, timeoutMs = 30_000): Promise<VP> {
  let last = (await policy(name))?.status?.lastEvaluation;
  let seen = 0;
  let p: VP | undefined;
  await waitFor(async () => {
    p = await policy(name);
    const at = p?.status?.lastEvaluation;
    if (at !== undefined && at !== last) {
      seen++;
      last = at;
    }
    return seen >= n;
  }, timeoutMs);
  return p as VP;
}

describe("ValidationPolicy actions on the real control plane", () => {
  it("Suspend: PolicyBreach holds after the metric recovers, until a person resumes with the annotations", async () => {
    await h.user.apply(
      manifest("sus", ns.name, {
        activeVersion: "v1",
        rollout: { strategy: "BlueGreen", requireValidation: false },
      }),
    );
    await waitFor(async () => (await getModel(h, ns.name, "sus"))?.status?.activeVersion === "v1", 30_000);
    await h.user.apply(policyManifest("sus-policy", "sus", { actions: { onBreach: ["Alert", "Suspend"] } }));
    await waitFor(async () => vpCondition(await policy("sus-policy"), "Ready")?.status === "True", 30_000);

    // sensitivity 10/40 on the serving version, far below 0.8
    await annotatedPositives("sus", "v1", "sus-bad", 40, 10);
    const breached = await waitFor(async () => {
      const p = await policy("sus-policy");
      return p?.status?.episodes?.[0]?.actions?.includes("Suspend") ? p : undefined;
    }, 60_000);
    const episode = breached.status?.episodes?.[0] as Episode;
    expect(episode).toMatchObject({ type: "Breach", version: "v1", actions: ["Alert", "Suspend"] });
    const suspended = await waitFor(async () => {
      const m = await getModel(h, ns.name, "sus");
      return condition(m, "Suspended")?.status === "True" ? m : undefined;
    }, 30_000);
    expect(condition(suspended, "Suspended")?.reason).toBe("PolicyBreach");
    expect((condition(suspended, "Suspended") as { message?: string })?.message).toContain(episode.key);

    // 400 more cases, all found: sensitivity 410/440, lower bound ≈ 0.90 → two clean evaluations end it
    await annotatedPositives("sus", "v1", "sus-good", 400, 400);
    const recovered = await waitFor(async () => {
      const p = await policy("sus-policy");
      return p?.status?.episodes?.[0]?.endedAt ? p : undefined;
    }, 60_000);
    expect(vpCondition(recovered, "Breached")?.status).toBe("False");
    expect(await eventCount("ValidationPolicy", "sus-policy", "Recovered")).toBe(1);
    // a few more evaluations and MedModel reconciles: still suspended, still for this episode
    await evaluations("sus-policy", 2);
    const stillSuspended = await getModel(h, ns.name, "sus");
    expect(condition(stillSuspended, "Suspended")).toMatchObject({ status: "True", reason: "PolicyBreach" });
    expect(await eventCount("ValidationPolicy", "sus-policy", "PerformanceBreach")).toBe(1);
    expect(await eventCount("ValidationPolicy", "sus-policy", "SuspendRequested")).toBe(1);

    // who alone is not enough
    await h.rest.request("PATCH", `/apis/medmlops.io/v1alpha1/namespaces/${ns.name}/medmodels/sus`, {
      contentType: "application/merge-patch+json",
      body: {
        metadata: {
          annotations: { "medmlops.io/resume-episode": episode.key, "medmlops.io/resumed-by": "dr-lee" },
        },
      },
    });
    await waitFor(
      async () => (await eventCount("ValidationPolicy", "sus-policy", "ResumeIgnored")) >= 1,
      30_000,
    );
    expect(condition(await getModel(h, ns.name, "sus"), "Suspended")?.status).toBe("True");

    await h.rest.request("PATCH", `/apis/medmlops.io/v1alpha1/namespaces/${ns.name}/medmodels/sus`, {
      contentType: "application/merge-patch+json",
      body: {
        metadata: {
          annotations: { "medmlops.io/resume-reason": "sensitivity back above floor on 400 new cases" },
        },
      },
    });
    const resumed = await waitFor(async () => {
      const m = await getModel(h, ns.name, "sus");
      return condition(m, "Suspended")?.status === "False" ? m : undefined;
    }, 30_000);
    expect(resumed.status?.activeVersion).toBe("v1");
    const p = await policy("sus-policy");
    expect(p?.status?.episodes?.[0]?.resumed).toMatchObject({
      by: "dr-lee",
      reason: "sensitivity back above floor on 400 new cases",
    });
    expect(await eventCount("ValidationPolicy", "sus-policy", "Resumed")).toBe(1);
  });

  it("Retrain: one RetrainJob per episode across evaluations; without Retraining allowed a Warning and none", async () => {
    const blueGreen = { rollout: { strategy: "BlueGreen", requireValidation: false } };
    await h.user.apply(manifest("rt", ns.name, { activeVersion: "v1", ...blueGreen }));
    await waitFor(
      async () => (await getModel(h, ns.name, "rt"))?.status?.lastKnownGoodVersion === "v1",
      30_000,
    );
    await h.user.apply(manifest("rt", ns.name, { activeVersion: "v2", ...blueGreen }));
    await waitFor(async () => (await getModel(h, ns.name, "rt"))?.status?.activeVersion === "v2", 30_000);

    const template = { trainer: { image: "registry.hospital.example/trainer:1" } };
    await h.user.apply(
      policyManifest("rt-policy", "rt", {
        actions: { onBreach: ["Alert", "Failover", "Retrain"], retrainTemplate: template },
        changeControl: { allowedModifications: ["Retraining"] },
      }),
    );
    await h.user.apply(
      policyManifest("rt-denied", "rt", {
        actions: { onBreach: ["Alert", "Retrain"], retrainTemplate: template },
        changeControl: { allowedModifications: ["Recalibration"] },
      }),
    );
    await waitFor(async () => vpCondition(await policy("rt-denied"), "Ready")?.status === "True", 30_000);

    await annotatedPositives("rt", "v2", "rt-bad", 40, 10);
    const p = await waitFor(async () => {
      const x = await policy("rt-policy");
      return x?.status?.episodes?.[0]?.retrainJob ? x : undefined;
    }, 60_000);
    const episode = p.status?.episodes?.[0] as Episode;
    expect(episode.actions).toEqual(["Alert", "Failover", "Retrain"]);
    expect(episode.retrainJob).toBe(retrainJobName("rt-policy", episode.key));
    await waitFor(async () => (await retrainJobs()).length > 0, 30_000);

    // several evaluations later: still exactly one, named after the episode, base = the breached version
    await evaluations("rt-policy", 3);
    expect(await retrainJobs()).toEqual([
      { name: retrainJobName("rt-policy", episode.key), policy: "rt-policy", baseVersion: "v2" },
    ]);
    expect(await eventCount("ValidationPolicy", "rt-policy", "RetrainRequested")).toBe(1);
    // the audit log: the episode's start and each action once, before they were reported done
    expect(await auditOf("rt-policy")).toEqual(
      [
        `ActionTaken ${episode.key}/Alert`,
        `ActionTaken ${episode.key}/Failover`,
        `ActionTaken ${episode.key}/Retrain`,
        `VerdictChanged ${episode.key}/started`,
      ].sort(),
    );
    const m = await getModel(h, ns.name, "rt");
    expect(m?.status?.activeVersion).toBe("v1");
    expect(m?.status?.failover?.lastTransition).toMatchObject({
      from: "v2",
      to: "v1",
      reason: "ValidationBreach",
    });

    // the policy outside the change-control envelope: one Warning, the skip recorded, no RetrainJob of its own
    const denied = await waitFor(async () => {
      const x = await policy("rt-denied");
      const ep = x?.status?.episodes?.[0] as { skipped?: unknown[] } | undefined;
      return ep?.skipped ? x : undefined;
    }, 30_000);
    expect((denied.status?.episodes?.[0] as { skipped?: unknown[] } | undefined)?.skipped).toEqual([
      { type: "Retrain", reason: "changeControl.allowedModifications does not contain Retraining" },
    ]);
    expect(denied.status?.episodes?.[0]?.actions).toEqual(["Alert"]);
    await evaluations("rt-denied", 2);
    expect(await eventCount("ValidationPolicy", "rt-denied", "RetrainNotAllowed")).toBe(1);
    expect((await retrainJobs()).filter((j) => j.policy === "rt-denied")).toEqual([]);
  });

  it("requireValidation: the candidate is promoted only after a Passed verdict from its annotated records", async () => {
    const gated = (activeVersion: string) => ({
      activeVersion,
      rollout: { strategy: "BlueGreen", requireValidation: true },
    });
    await h.user.apply(manifest("rv", ns.name, gated("v1")));
    await waitFor(async () => (await getModel(h, ns.name, "rv"))?.status?.activeVersion === "v1", 30_000);
    await h.user.apply(policyManifest("rv-policy", "rv", {}));
    await h.user.apply(manifest("rv", ns.name, gated("v2")));
    await waitFor(
      async () => condition(await getModel(h, ns.name, "rv"), "Progressing")?.reason === "AwaitingValidation",
      30_000,
    );
    // too few annotated cases of v2: no verdict, no promotion
    await annotatedPositives("rv", "v2", "rv-a", 10, 10);
    await evaluations("rv-policy", 2);
    expect(vpCondition(await policy("rv-policy"), "InsufficientData")?.status).toBe("True");
    const waiting = await getModel(h, ns.name, "rv");
    expect(waiting?.status?.activeVersion).toBe("v1");
    expect(condition(waiting, "Progressing")?.reason).toBe("AwaitingValidation");
    // 60 more: 68/70 found, lower bound ≈ 0.90 ≥ 0.8 → Passed → promoted
    await annotatedPositives("rv", "v2", "rv-b", 60, 58);
    const promoted = await waitFor(async () => {
      const m = await getModel(h, ns.name, "rv");
      return m?.status?.activeVersion === "v2" ? m : undefined;
    }, 60_000);
    expect(promoted.status?.versions?.find((v) => v.name === "v2")).toMatchObject({ validated: true });
    const p = await policy("rv-policy");
    expect(
      (
        p?.status as { results?: { version: string; metrics?: { pass: boolean; n: number }[] }[] }
      )?.results?.find((r) => r.version === "v2")?.metrics,
    ).toEqual([expect.objectContaining({ pass: true, n: 70 })]);
  });

  it("an operator restart mid-episode repeats no action: no second failover, RetrainJob or event", async () => {
    const before = {
      rt: await policy("rt-policy"),
      denied: await policy("rt-denied"),
      sus: await policy("sus-policy"),
      model: await getModel(h, ns.name, "rt"),
      jobs: await retrainJobs(),
    };
    // mid-episode: rt's breach is still open (the bad cases still breach)
    expect(before.rt?.status?.episodes?.[0]?.endedAt).toBeUndefined();
    const counts = async () => ({
      breach: await eventCount("ValidationPolicy", "rt-policy", "PerformanceBreach"),
      failover: await eventCount("ValidationPolicy", "rt-policy", "FailoverRequested"),
      retrain: await eventCount("ValidationPolicy", "rt-policy", "RetrainRequested"),
      deniedBreach: await eventCount("ValidationPolicy", "rt-denied", "PerformanceBreach"),
      notAllowed: await eventCount("ValidationPolicy", "rt-denied", "RetrainNotAllowed"),
      resumed: await eventCount("ValidationPolicy", "sus-policy", "Resumed"),
      modelFailedOver: await eventCount("MedModel", "rt", "FailedOver"),
    });
    const eventsBefore = await counts();
    const auditBefore = { rt: await auditOf("rt-policy"), sus: await auditOf("sus-policy") };
    expect(auditBefore.sus.filter((a) => a.startsWith("Resume "))).toHaveLength(1);
    expect(eventsBefore).toMatchObject({ breach: 1, failover: 1, retrain: 1, notAllowed: 1, resumed: 1 });

    await manager?.stop();
    manager = undefined;
    manager = await startManager();
    // the new process evaluates (each policy at least twice) and reconciles the model
    await Promise.all([
      evaluations("rt-policy", 2),
      evaluations("rt-denied", 2),
      evaluations("sus-policy", 2),
    ]);
    await sleep(2_000);

    const after = await policy("rt-policy");
    expect(after?.status?.episodes).toEqual(before.rt?.status?.episodes);
    expect((await policy("rt-denied"))?.status?.episodes).toEqual(before.denied?.status?.episodes);
    expect((await policy("sus-policy"))?.status?.episodes).toEqual(before.sus?.status?.episodes);
    expect(await retrainJobs()).toEqual(before.jobs);
    const model = await getModel(h, ns.name, "rt");
    expect(model?.status?.failover?.count).toBe(before.model?.status?.failover?.count);
    expect(model?.status?.failover?.lastTransition).toEqual(before.model?.status?.failover?.lastTransition);
    expect(model?.status?.activeVersion).toBe("v1");
    expect(await counts()).toEqual(eventsBefore);
    expect({ rt: await auditOf("rt-policy"), sus: await auditOf("sus-policy") }).toEqual(auditBefore);
  });
});
