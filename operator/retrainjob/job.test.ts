import { describe, expect, it } from "vitest";
import { RetrainJobSchema } from "../../crds/index.ts";
import {
  buildEvalJob,
  buildTrainJob,
  defaultCandidateUri,
  jobMonitorCa,
  monitorCaConfigMap,
  monitorCaConfigMapName,
  trainJobName,
} from "./job.ts";

const rj = RetrainJobSchema.parse({
  apiVersion: "medmlops.io/v1alpha1",
  kind: "RetrainJob",
  metadata: { name: "cxr-v3", namespace: "radiology", uid: "u-1" },
  spec: {
    modelRef: { name: "cxr" },
    baseVersion: "v2",
    candidateVersion: "v3",
    trainer: {
      image: "trainer@sha256:abc",
      command: ["python", "train.py"],
      args: ["--epochs", "3"],
      env: [{ name: "SEED", value: "7" }],
      resources: { requests: { cpu: "2" }, limits: { memory: "8Gi" } },
      gpu: 2,
      timeout: "1h30m",
    },
  },
});
const opts = {
  image: "medmlops:1",
  monitorUrl: "http://monitor:8090",
  outputClaim: "models",
  datasetId: "ds-9",
};
const base = { uri: "pvc://models/cxr/v2.onnx", sha256: "b".repeat(64) };

// biome-ignore lint/suspicious/noExplicitAny: the test walks untyped Kubernetes object bodies
type Obj = Record<string, any>;

describe("the training Job", () => {
  const job = buildTrainJob(rj, base, opts) as Obj;
  const pod = job.spec.template.spec;

  it("is owned by the RetrainJob, never retried, bounded by trainer.timeout", () => {
    expect(job.metadata.name).toBe(trainJobName("cxr-v3"));
    expect(job.metadata.ownerReferences[0]).toMatchObject({
      kind: "RetrainJob",
      name: "cxr-v3",
      uid: "u-1",
      controller: true,
    });
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.activeDeadlineSeconds).toBe(5400);
    expect(pod.restartPolicy).toBe("Never");
  });

  it("fetches the base weights and materialises the train split before the trainer runs", () => {
    expect(pod.initContainers.map((c: Obj) => c.name)).toEqual(["fetch-base", "materialize"]);
    expect(pod.initContainers[0].args).toEqual([
      "fetch-model",
      "--uri",
      base.uri,
      "--sha256",
      base.sha256,
      "--out",
      "/base/model.onnx",
    ]);
    const m = pod.initContainers[1].args as string[];
    expect(m.slice(0, 2)).toEqual(["dataset", "materialize"]);
    expect(m[m.indexOf("--split") + 1]).toBe("train");
    expect(m[m.indexOf("--dataset") + 1]).toBe("ds-9");
    expect(m.filter((a) => a === "--deid-option")).toHaveLength(rj.spec.deid.options.length);
    expect(pod.volumes.find((v: Obj) => v.name === "deid-key").secret.optional).toBeUndefined();
  });

  it("runs the user's trainer as given, with GPUs and the data/output contract in env", () => {
    const t = pod.containers[0];
    expect(t).toMatchObject({
      image: "trainer@sha256:abc",
      command: ["python", "train.py"],
      args: ["--epochs", "3"],
    });
    expect(t.resources).toEqual({ requests: { cpu: "2" }, limits: { memory: "8Gi", "nvidia.com/gpu": 2 } });
    const env = Object.fromEntries(t.env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({
      SEED: "7",
      MEDMLOPS_DATA_DIR: "/data",
      MEDMLOPS_OUTPUT_DIR: "/output",
      MEDMLOPS_BASE_MODEL: "/base/model.onnx",
    });
    expect(env.MEDMLOPS_CANDIDATE_URI).toBe(defaultCandidateUri(rj, "models"));
    expect(t.volumeMounts.find((v: Obj) => v.name === "output").subPath).toBe("retrain/radiology/cxr-v3");
    expect(t.volumeMounts.find((v: Obj) => v.name === "data").readOnly).toBe(true);
  });
});

describe("the evaluation Job", () => {
  it("fetches both models, materialises the test split and runs medmlops evaluate", () => {
    const cand = { uri: defaultCandidateUri(rj, "models"), sha256: "c".repeat(64) };
    const job = buildEvalJob(rj, base, cand, opts) as Obj;
    const pod = job.spec.template.spec;
    expect(pod.initContainers.map((c: Obj) => c.name)).toEqual([
      "fetch-base",
      "fetch-candidate",
      "materialize",
    ]);
    const m = pod.initContainers[2].args as string[];
    expect(m[m.indexOf("--split") + 1]).toBe("test");
    expect(pod.containers[0].args[0]).toBe("evaluate");
    // both sources live on the same claim: one volume per claim name
    expect(pod.volumes.filter((v: Obj) => v.persistentVolumeClaim).map((v: Obj) => v.name)).toEqual([
      "src-fetch-base",
      "src-fetch-candidate",
    ]);
  });
});

describe("an https:// monitor: the Jobs trust it with the operator's CA", () => {
  const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const tls = { ...opts, monitorUrl: "https://x-medmlops-monitor.med.svc:8090", monitorCa: CA };
  const cand = { uri: "pvc://models/retrain/radiology/cxr-v3/model.onnx", sha256: "c".repeat(64) };

  /** The CA file a container is given, resolved through its mount to the ConfigMap key behind it. */
  function caSource(job: Obj, container: Obj): { configMap: string; key: string } | undefined {
    const i = container.args.indexOf("--monitor-ca");
    if (i < 0) return undefined;
    const path: string = container.args[i + 1];
    const mount = container.volumeMounts.find((m: Obj) => path.startsWith(`${m.mountPath}/`));
    const volume = job.spec.template.spec.volumes.find((v: Obj) => v.name === mount?.name);
    return { configMap: volume?.configMap?.name, key: path.slice(mount.mountPath.length + 1) };
  }

  it("materialize and evaluate get --monitor-ca from the RetrainJob's ConfigMap", () => {
    const cm = monitorCaConfigMap(rj, CA) as Obj;
    expect(cm.metadata).toMatchObject({ name: monitorCaConfigMapName("cxr-v3"), namespace: "radiology" });
    expect(cm.metadata.ownerReferences[0]).toMatchObject({
      kind: "RetrainJob",
      name: "cxr-v3",
      controller: true,
    });
    expect(cm.data).toEqual({ "ca.crt": CA });
    const train = buildTrainJob(rj, base, tls) as Obj;
    const evalJob = buildEvalJob(rj, base, cand, tls) as Obj;
    const expected = { configMap: cm.metadata.name, key: "ca.crt" };
    const materializeOf = (j: Obj) =>
      j.spec.template.spec.initContainers.find((c: Obj) => c.name === "materialize");
    expect(caSource(train, materializeOf(train))).toEqual(expected);
    expect(caSource(evalJob, materializeOf(evalJob))).toEqual(expected);
    expect(caSource(evalJob, evalJob.spec.template.spec.containers[0])).toEqual(expected);
    // The trainer (user code) gets neither the flag nor the mount.
    const trainer = train.spec.template.spec.containers[0];
    expect(trainer.volumeMounts.map((m: Obj) => m.name)).not.toContain("monitor-ca");
  });

  it("nothing of it for an http:// monitor or without a CA", () => {
    expect(jobMonitorCa(tls)).toBe(CA);
    for (const o of [
      { ...opts, monitorCa: CA },
      { ...tls, monitorCa: undefined },
    ]) {
      expect(jobMonitorCa(o)).toBeUndefined();
      const j = buildEvalJob(rj, base, cand, o) as Obj;
      expect(JSON.stringify(j)).not.toContain("monitor-ca");
    }
  });
});
