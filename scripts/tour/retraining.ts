/**
 * The retraining step of `npm start` (issue 14): one RetrainJob played through every phase on the local control
 * plane — dataset frozen through the real monitor, the training and evaluation Jobs made by the operator's
 * RetrainJob controller and the real job controller, their pods run, the gate passed, a clinician's approval, the
 * candidate appended to the MedModel as a new version (never made active).
 *
 * kwok runs no containers, so the tour plays the kubelet for the two Jobs' pods (test/support/process-kubelet.ts,
 * the same one test/integration/retrain-run.test.ts uses): each container runs as a local process with the pod's
 * own command, args and env — `medmlops fetch-model`, `medmlops dataset materialize`, `medmlops evaluate` — and
 * the hospital's trainer image is played by a small real trainer (retrain/testing/tiny-trainer.ts, logistic
 * regression on two features). The pods stay unscheduled because the output claim is a local directory here, not
 * a bound PersistentVolumeClaim. Everything the operator reads is what it reads in a hospital: Job conditions from
 * the real job controller, the pod's termination message, the monitor.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MonitorClient } from "../../monitor/client.ts";
import type { Annotation, MonitorRecord } from "../../monitor/wire.ts";
import { evalJobName, trainJobName } from "../../operator/retrainjob/job.ts";
import { medModelManifest } from "../../operator/medmodel/fixtures.ts";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import { linearModel } from "../../retrain/testing/linear-model.ts";
import { ledgerCases } from "../../retrain/testing/ledger.ts";
import { kubectlOk, testKubeConfig, waitFor } from "../../test/cluster/client.ts";
import { repoRoot } from "../../test/cluster/paths.ts";
import { type ImageMap, type PodObject, runPod } from "../../test/support/process-kubelet.ts";

const MODEL = "demo-cr";
const GATE = "demo-cr-gate";
const RUN = "demo-cr-retrain";
/** The operator's default output claim (MEDMLOPS_RETRAIN_OUTPUT_CLAIM): where trainers write candidates. */
const CLAIM = "medmlops-models";
/** Stands for the hospital's trainer image; the tour runs the tiny trainer in its place. */
const TRAINER_IMAGE = "registry.hospital.example/tiny-trainer:1";
const PATIENTS = 80;

type Cond = { type: string; status: string; reason?: string; message?: string };
type RJ = {
  status?: {
    phase?: string;
    message?: string;
    conditions?: Cond[];
    candidate?: { uri: string; sha256: string };
    evaluation?: Record<string, unknown>;
  };
};

export interface RetrainingIO {
  say(t: string): void;
  out(t: string): void;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The retrain tests' seeded ledger (retrain/testing/ledger.ts) as API records and reader annotations: two CR cases
 * per patient at two sites, feature f1 separating the classes (a model can learn it). */
function ledger(namespace: string): { records: MonitorRecord[]; annotations: Annotation[] } {
  const cases = ledgerCases({
    patients: PATIENTS,
    at: new Date(Date.now() - 2 * 86_400_000).toISOString(),
    firstPatient: 10_000,
  });
  return {
    records: cases.map((c) => ({
      time: c.time,
      namespace,
      model: MODEL,
      version: "v1",
      caseId: c.caseId,
      patient: c.patient,
      site: c.site,
      metadata: { Modality: "CR" },
      inputs: c.inputs,
      outputs: {},
    })),
    annotations: cases.map((c) => ({
      namespace,
      model: MODEL,
      caseId: c.caseId,
      positive: c.positive,
      time: c.time,
      source: "reader" as const,
    })),
  };
}

async function getRJ(rest: RestClient, namespace: string): Promise<RJ | undefined> {
  return rest
    .request<RJ>("GET", `/apis/medmlops.io/v1alpha1/namespaces/${namespace}/retrainjobs/${RUN}`)
    .catch(() => undefined);
}

export async function retrainingTour(
  io: RetrainingIO,
  opts: { monitor: MonitorClient; namespace: string; demoDir: string },
): Promise<void> {
  const { namespace } = opts;
  const rest = restClientFromKubeConfig(testKubeConfig());
  const work = join(opts.demoDir, "retraining");
  rmSync(work, { recursive: true, force: true });
  const pvRoot = join(work, "pv");
  const bin = join(repoRoot, "bin/medmlops.js");

  io.say(
    `a retraining run played through: MedModel ${MODEL} (a weak v1), ${PATIENTS} patients' annotated CR cases in the monitor`,
  );
  const base = linearModel([0.2, 1], 0);
  mkdirSync(join(pvRoot, CLAIM, "base"), { recursive: true });
  writeFileSync(join(pvRoot, CLAIM, "base/cr-v1.onnx"), base);
  const { records, annotations } = ledger(namespace);
  await opts.monitor.postRecords(records);
  await opts.monitor.postAnnotations(annotations);
  const apply = (o: object) => kubectlOk(["apply", "-f", "-"], JSON.stringify(o));
  // The key the training Job's materialize step pseudonymises case ids with (a tour key, made fresh each run).
  await apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "medmlops-deid-key", namespace },
    stringData: { "hmac-key": randomBytes(32).toString("hex") },
  });
  await apply(
    medModelManifest(MODEL, namespace, {
      versions: [{ name: "v1", source: { uri: `pvc://${CLAIM}/base/cr-v1.onnx`, sha256: sha256(base) } }],
      activeVersion: "v1",
    }),
  );
  await apply({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "ValidationPolicy",
    metadata: { name: GATE, namespace },
    spec: {
      modelRef: { name: MODEL },
      metrics: [{ name: "accuracy", min: 0.5 }],
      changeControl: {
        allowedModifications: ["Retraining"],
        performanceFloors: [{ metric: "accuracy", min: 0.5 }],
        maxSiteDegradation: 0.02,
        approvalsRequired: 1,
      },
    },
  });
  await apply({
    apiVersion: "medmlops.io/v1alpha1",
    kind: "RetrainJob",
    metadata: { name: RUN, namespace },
    spec: {
      modelRef: { name: MODEL },
      baseVersion: "v1",
      candidateVersion: "v2-retrained",
      dataset: { modalities: ["CR"], purpose: "SYSDEV", sequesteredTestFraction: 0.3 },
      trainer: { image: TRAINER_IMAGE, command: ["/opt/trainer/train"], timeout: "30m" },
      evaluation: { policyRef: { name: GATE }, perSite: true },
      promotion: { mode: "Manual" },
    },
  });

  const phases: string[] = [];
  const inPhase = (want: string) =>
    waitFor(
      async () => {
        const rj = await getRJ(rest, namespace);
        const phase = rj?.status?.phase;
        if (phase && phases.at(-1) !== phase) phases.push(phase);
        if (phase === "Failed" || phase === "Rejected")
          throw new Error(`RetrainJob ${RUN} ended ${phase}: ${rj?.status?.message ?? ""}`);
        return phase === want ? rj : undefined;
      },
      120_000,
      300,
    );

  // The medmlops image's containers run `medmlops …` from this checkout; the trainer image runs the tiny trainer.
  const imagesOf = (pod: PodObject): ImageMap => {
    const map: ImageMap = {
      [TRAINER_IMAGE]: () => ({
        argv: [join(repoRoot, "node_modules/.bin/tsx"), join(repoRoot, "retrain/testing/tiny-trainer.ts")],
      }),
    };
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      if (c.image === TRAINER_IMAGE) continue;
      map[c.image] = ({ argv, path, terminationLog }) => ({
        argv: [
          process.execPath,
          bin,
          ...argv.slice(1),
          ...(argv[1] === "fetch-model"
            ? ["--pvc-root", path("/sources/pvc"), "--termination-log", terminationLog]
            : []),
        ],
      });
    }
    return map;
  };
  const runJobPod = async (job: string, what: string) => {
    const pod = await waitFor(async () => {
      const list = await rest.request<{ items: PodObject[] }>("GET", `/api/v1/namespaces/${namespace}/pods`, {
        query: { labelSelector: `job-name=${job}` },
      });
      return list.items[0];
    }, 60_000);
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
    io.out(`   Job ${job}: ${what} — containers ${names.join(" → ")}\n`);
    const out = await runPod(pod, { rest, root: join(work, "kubelet"), pvRoot, images: imagesOf(pod) });
    const failed = [...out.initContainers, ...out.containers].find((c) => c.exitCode !== 0);
    if (failed)
      throw new Error(
        `${job}: container ${failed.name} exited ${failed.exitCode}: ${failed.stderr.slice(-500)}`,
      );
    return out;
  };

  await inPhase("Training");
  const trained = await runJobPod(trainJobName(RUN), "train on the frozen dataset");
  io.out(`   trainer's termination message: ${trained.containers[0]?.message?.trim() ?? ""}\n`);
  await inPhase("Evaluating");
  await runJobPod(evalJobName(RUN), "candidate vs base on the sequestered test split");
  const waiting = await inPhase("AwaitingApproval");
  const evaluated = waiting.status?.conditions?.find((c) => c.type === "Evaluated");
  io.out(`   gate: ${evaluated?.reason ?? "?"} — ${evaluated?.message ?? ""}\n`);
  io.out(`   ${waiting.status?.message ?? ""}; candidate ${waiting.status?.candidate?.uri ?? "?"}\n`);

  io.say(
    "a clinical lead approves (spec.promotion.approvals): the candidate is appended as a version, not activated",
  );
  await kubectlOk([
    "-n",
    namespace,
    "patch",
    "retrainjob",
    RUN,
    "--type=merge",
    "-p",
    JSON.stringify({
      spec: {
        promotion: {
          approvals: [{ approver: "dr-lead", role: "clinical-lead", at: new Date().toISOString() }],
        },
      },
    }),
  ]);
  await inPhase("Succeeded");
  io.out(`   phases seen: ${phases.join(" → ")}\n`);
  const model = await rest.request<{ spec: { activeVersion: string; versions: { name: string }[] } }>(
    "GET",
    `/apis/medmlops.io/v1alpha1/namespaces/${namespace}/medmodels/${MODEL}`,
  );
  io.out(
    `   MedModel ${MODEL}: versions ${model.spec.versions.map((v) => v.name).join(", ")}; activeVersion still ${model.spec.activeVersion}\n`,
  );
}
