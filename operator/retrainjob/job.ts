/**
 * Pure builders of a RetrainJob's Kubernetes Jobs, owned by the RetrainJob (garbage-collected with it).
 *
 * `<rj>-train`:    init `fetch-model` (the base version's weights → /base/model.onnx, sha256-checked),
 *                  init `medmlops dataset materialize --split train` (the frozen manifest's cases and labels → /data,
 *                  de-identified again under spec.deid, fail closed), then the hospital's trainer image, which writes
 *                  /output/model.onnx and its sha256 as the termination message (docs/retraining.md).
 *                  activeDeadlineSeconds = trainer.timeout; backoffLimit 0 (a retry would be another run).
 * `<rj>-evaluate`: fetch candidate and base, materialize --split test, `medmlops evaluate`, which sends its
 *                  report to the monitor where the controller reads it.
 */
import type { RetrainJob } from "../../crds/index.ts";
import { parseDurationMs } from "../runtime/duration.ts";
import { type KubeObject, ownerReference } from "../runtime/index.ts";

export const RJ_PATHS = {
  data: "/data",
  base: "/base",
  output: "/output",
  candidate: "/candidate",
  pvcRoot: "/sources/pvc",
  deidKeyDir: "/var/run/secrets/medmlops/deid",
  /** The CA of an https:// monitor (from the RetrainJob's ConfigMap), for materialize and evaluate. */
  monitorCaDir: "/etc/medmlops/monitor-ca",
} as const;

export const LABEL_RETRAINJOB = "medmlops.io/retrainjob";

export interface JobBuildOptions {
  /** The medmlops image (operator flag) for the init and evaluation containers. */
  image: string;
  monitorUrl: string;
  /** PVC where candidates are written: the trainer's /output is `<claim>/retrain/<namespace>/<rj>/`. */
  outputClaim: string;
  /** The dataset id the monitor gave at freeze. */
  datasetId: string;
  /**
   * The PEM CA bundle of an https:// monitor (the operator's own --monitor-ca): put into a ConfigMap owned by the
   * RetrainJob (monitorCaConfigMap) and handed to materialize and evaluate as --monitor-ca.
   */
  monitorCa?: string;
}

export const monitorCaConfigMapName = (rj: string) => `${rj.slice(0, 52)}-monitor-ca`;
const MONITOR_CA_ARGS = ["--monitor-ca", `${RJ_PATHS.monitorCaDir}/ca.crt`];

/** The CA the Jobs trust, when the monitor is https:// and the operator has one; else undefined. */
export function jobMonitorCa(o: Pick<JobBuildOptions, "monitorUrl" | "monitorCa">): string | undefined {
  return o.monitorUrl.startsWith("https://") && o.monitorCa ? o.monitorCa : undefined;
}

/** The ConfigMap with the monitor's CA, owned by the RetrainJob (applied before its Jobs). */
export function monitorCaConfigMap(rj: RetrainJob, ca: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: monitorCaConfigMapName(rj.metadata.name as string),
      namespace: rj.metadata.namespace,
      labels: { "app.kubernetes.io/managed-by": "medmlops", [LABEL_RETRAINJOB]: rj.metadata.name as string },
      ownerReferences: [ownerReference(rj as KubeObject)],
    },
    data: { "ca.crt": ca },
  };
}

function monitorCaVolume(rj: RetrainJob) {
  return { name: "monitor-ca", configMap: { name: monitorCaConfigMapName(rj.metadata.name as string) } };
}
const monitorCaMount = { name: "monitor-ca", mountPath: RJ_PATHS.monitorCaDir, readOnly: true };

export const trainJobName = (rj: string) => `${rj.slice(0, 57)}-train`;
export const evalJobName = (rj: string) => `${rj.slice(0, 54)}-evaluate`;

export function candidateSubPath(rj: RetrainJob): string {
  return `retrain/${rj.metadata.namespace}/${rj.metadata.name}`;
}
/** The uri a candidate gets when the trainer reports none: on the output claim, fetchable by `fetch-model`. */
export function defaultCandidateUri(rj: RetrainJob, outputClaim: string): string {
  return `pvc://${outputClaim}/${candidateSubPath(rj)}/model.onnx`;
}

const security = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

function pvcMount(uri: string): { claim: string; path: string } | undefined {
  const m = /^pvc:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { claim: m[1] as string, path: m[2] as string } : undefined;
}

function fetchInit(name: string, uri: string, sha256: string, out: string, image: string) {
  const pvc = pvcMount(uri);
  return {
    container: {
      name,
      image,
      command: ["medmlops"],
      args: ["fetch-model", "--uri", uri, "--sha256", sha256, "--out", out],
      terminationMessagePolicy: "FallbackToLogsOnError",
      volumeMounts: [
        { name: "work", mountPath: "/work" },
        ...(pvc
          ? [{ name: `src-${name}`, mountPath: `${RJ_PATHS.pvcRoot}/${pvc.claim}`, readOnly: true }]
          : []),
      ],
      securityContext: security,
    },
    volume: pvc
      ? { name: `src-${name}`, persistentVolumeClaim: { claimName: pvc.claim, readOnly: true } }
      : undefined,
  };
}

function materializeInit(rj: RetrainJob, split: "train" | "test", o: JobBuildOptions) {
  const { deid } = rj.spec;
  return {
    name: "materialize",
    image: o.image,
    command: ["medmlops"],
    args: [
      "dataset",
      "materialize",
      ...["--monitor-url", o.monitorUrl, "--dataset", o.datasetId, "--split", split],
      ...["--out", RJ_PATHS.data],
      ...deid.options.flatMap((opt) => ["--deid-option", opt]),
      ...(jobMonitorCa(o) ? MONITOR_CA_ARGS : []),
    ],
    env: [{ name: "MEDMLOPS_DEID_KEY_FILE", value: `${RJ_PATHS.deidKeyDir}/${deid.keySecretRef.key}` }],
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "data", mountPath: RJ_PATHS.data },
      { name: "deid-key", mountPath: RJ_PATHS.deidKeyDir, readOnly: true },
      ...(jobMonitorCa(o) ? [monitorCaMount] : []),
    ],
    securityContext: security,
  };
}

function jobShell(
  rj: RetrainJob,
  name: string,
  role: string,
  podSpec: Record<string, unknown>,
  deadlineS?: number,
): KubeObject {
  const labels = {
    "app.kubernetes.io/managed-by": "medmlops",
    [LABEL_RETRAINJOB]: rj.metadata.name as string,
    "medmlops.io/role": role,
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: rj.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(rj as KubeObject)],
    },
    spec: {
      backoffLimit: 0,
      ...(deadlineS ? { activeDeadlineSeconds: deadlineS } : {}),
      ttlSecondsAfterFinished: 7 * 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
          ...podSpec,
        },
      },
    },
  };
}

function deidKeyVolume(rj: RetrainJob) {
  const k = rj.spec.deid.keySecretRef;
  // Fail closed: without the hospital's key the materialize step cannot pseudonymise, so the pod does not start.
  return {
    name: "deid-key",
    secret: { secretName: k.name, items: [{ key: k.key, path: k.key }], defaultMode: 0o440 },
  };
}

export function buildTrainJob(
  rj: RetrainJob,
  baseSource: { uri: string; sha256: string },
  o: JobBuildOptions,
): KubeObject {
  const t = rj.spec.trainer;
  const base = fetchInit(
    "fetch-base",
    baseSource.uri,
    baseSource.sha256,
    `${RJ_PATHS.base}/model.onnx`,
    o.image,
  );
  base.container.volumeMounts[0] = { name: "base", mountPath: RJ_PATHS.base };
  const resources = structuredClone(t.resources ?? {}) as { limits?: Record<string, string | number> };
  if (t.gpu > 0) resources.limits = { ...resources.limits, "nvidia.com/gpu": t.gpu };
  const trainer = {
    name: "trainer",
    image: t.image,
    ...(t.command ? { command: t.command } : {}),
    ...(t.args ? { args: t.args } : {}),
    env: [
      ...(t.env ?? []),
      { name: "MEDMLOPS_DATA_DIR", value: RJ_PATHS.data },
      { name: "MEDMLOPS_BASE_MODEL", value: `${RJ_PATHS.base}/model.onnx` },
      { name: "MEDMLOPS_OUTPUT_DIR", value: RJ_PATHS.output },
      { name: "MEDMLOPS_CANDIDATE_URI", value: defaultCandidateUri(rj, o.outputClaim) },
    ],
    resources,
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    volumeMounts: [
      { name: "data", mountPath: RJ_PATHS.data, readOnly: true },
      { name: "base", mountPath: RJ_PATHS.base, readOnly: true },
      { name: "output", mountPath: RJ_PATHS.output, subPath: candidateSubPath(rj) },
    ],
    securityContext: security,
  };
  const deadline = Math.max(1, Math.ceil((parseDurationMs(t.timeout) ?? 6 * 3_600_000) / 1000));
  return jobShell(
    rj,
    trainJobName(rj.metadata.name as string),
    "train",
    {
      initContainers: [base.container, materializeInit(rj, "train", o)],
      containers: [trainer],
      volumes: [
        { name: "data", emptyDir: {} },
        { name: "base", emptyDir: {} },
        { name: "output", persistentVolumeClaim: { claimName: o.outputClaim } },
        deidKeyVolume(rj),
        ...(jobMonitorCa(o) ? [monitorCaVolume(rj)] : []),
        ...(base.volume ? [base.volume] : []),
      ],
    },
    deadline,
  );
}

export function buildEvalJob(
  rj: RetrainJob,
  compareTo: { uri: string; sha256: string },
  candidate: { uri: string; sha256: string },
  o: JobBuildOptions,
): KubeObject {
  const base = fetchInit(
    "fetch-base",
    compareTo.uri,
    compareTo.sha256,
    `${RJ_PATHS.base}/model.onnx`,
    o.image,
  );
  base.container.volumeMounts[0] = { name: "base", mountPath: RJ_PATHS.base };
  const cand = fetchInit(
    "fetch-candidate",
    candidate.uri,
    candidate.sha256,
    `${RJ_PATHS.candidate}/model.onnx`,
    o.image,
  );
  cand.container.volumeMounts[0] = { name: "candidate", mountPath: RJ_PATHS.candidate };
  const evaluate = {
    name: "evaluate",
    image: o.image,
    command: ["medmlops"],
    args: [
      "evaluate",
      ...["--data", RJ_PATHS.data, "--candidate", `${RJ_PATHS.candidate}/model.onnx`],
      ...["--base", `${RJ_PATHS.base}/model.onnx`, "--monitor-url", o.monitorUrl, "--dataset", o.datasetId],
      ...(jobMonitorCa(o) ? MONITOR_CA_ARGS : []),
    ],
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "data", mountPath: RJ_PATHS.data, readOnly: true },
      { name: "base", mountPath: RJ_PATHS.base, readOnly: true },
      { name: "candidate", mountPath: RJ_PATHS.candidate, readOnly: true },
      ...(jobMonitorCa(o) ? [monitorCaMount] : []),
    ],
    securityContext: security,
  };
  const volumes = [base.volume, cand.volume].filter((v) => v !== undefined);
  const unique = volumes.filter((v, i) => volumes.findIndex((w) => w.name === v.name) === i);
  return jobShell(rj, evalJobName(rj.metadata.name as string), "evaluate", {
    initContainers: [base.container, cand.container, materializeInit(rj, "test", o)],
    containers: [evaluate],
    volumes: [
      { name: "data", emptyDir: {} },
      { name: "base", emptyDir: {} },
      { name: "candidate", emptyDir: {} },
      deidKeyVolume(rj),
      ...(jobMonitorCa(o) ? [monitorCaVolume(rj)] : []),
      ...unique,
    ],
  });
}
