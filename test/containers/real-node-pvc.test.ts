/**
 * A MedModel whose model comes from a `pvc://` source on real-0: a local PersistentVolume (a folder on this host,
 * node affinity real-0) bound to the claim `models`, the model file at `pvc://models/chest/v1/model.onnx`. The
 * fetch-model init container reads it through the claim's read-only mount and verifies its digest, the sidecar
 * starts, the readiness probe passes, and an OIP v2 inference through the stable Service's ClusterIP returns what
 * onnxruntime computes in this process.
 *
 * Runs only with the real node (MEDMLOPS_REAL_NODE=1 or CI=true; see vitest.config.ts and docs/testing.md).
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomFloats } from "../../inference-sidecar/testing/harness.ts";
import { writeModel } from "../../inference-sidecar/testing/models.ts";
import { type FreshNamespace, freshNamespace, kubectl, kubectlOk, waitFor } from "../cluster/client.ts";
import { REAL_NODE } from "../cluster/real-node.ts";
import {
  type Harness,
  harness,
  installCrds,
  type MM,
  medModelManifest,
} from "../integration/medmodel-support.ts";
import {
  clusterIp,
  describeState,
  inferAt,
  podsOf,
  REAL_SERVING,
  servingReady,
} from "./real-node-support.ts";

const NAME = "chest";
let ns: FreshNamespace;
let h: Harness;
let store: string;
let pvName: string;
let sha: string;
let reference: ort.InferenceSession;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("real-pvc");
  // The hospital's model store: a folder on this host, readable by the pod's user (10001) through the mount.
  store = mkdtempSync(join(tmpdir(), "real-pvc-"));
  chmodSync(store, 0o755);
  const dir = join(store, "chest", "v1");
  mkdirSync(dir, { recursive: true });
  const model = join(dir, "model.onnx");
  renameSync(writeModel(dir, "cnn"), model);
  sha = createHash("sha256").update(readFileSync(model)).digest("hex");
  reference = await ort.InferenceSession.create(model);
  pvName = `medmlops-test-${ns.name}`;
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pvName },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadOnlyMany"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        local: { path: store },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [REAL_NODE] }],
              },
            ],
          },
        },
        claimRef: { namespace: ns.name, name: "models" },
      },
    }),
  );
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "models", namespace: ns.name },
      spec: {
        accessModes: ["ReadOnlyMany"],
        storageClassName: "",
        volumeName: pvName,
        resources: { requests: { storage: "1Gi" } },
      },
    }),
  );
  await kubectlOk([
    ...["-n", ns.name, "create", "secret", "generic", "medmlops-deid-key"],
    "--from-literal=hmac-key=0123456789abcdef0123456789abcdef0123456789abcdef",
  ]);
  h = harness(ns.name, { minHealthyMs: 1500, standbyReplicas: 1, defaultUnavailableAfterMs: 5000 });
  await h.start();
}, 300_000);

afterAll(async () => {
  await h?.stop();
  await reference?.release();
  await ns?.delete();
  if (pvName) await kubectl(["delete", "pv", pvName, "--wait=false"]);
  if (store) rmSync(store, { recursive: true, force: true });
});

describe(`a pvc:// model on ${REAL_NODE}`, () => {
  it("a local PersistentVolume: the init container fetches and verifies it, inference through the ClusterIP equals onnxruntime", {
    timeout: 240_000,
  }, async () => {
    await h.user.apply(
      medModelManifest(NAME, ns.name, {
        signature: {
          inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 16, 16] }],
          outputs: [
            { name: "logits", datatype: "FP32", shape: [-1, 3], labels: ["normal", "nodule", "mass"] },
          ],
        },
        versions: [{ name: "v1", source: { uri: "pvc://models/chest/v1/model.onnx", sha256: sha } }],
        activeVersion: "v1",
        serving: REAL_SERVING,
      }) as unknown as MM,
    );
    await waitFor(() => servingReady(h, ns.name, NAME, "v1"), 180_000, 1000).catch(async (err) => {
      throw new Error(`${String(err)}\n${await describeState(h, ns.name, NAME)}`);
    });
    const [pod] = await podsOf(ns.name, NAME, "v1");
    expect(pod?.spec.nodeName).toBe(REAL_NODE);
    expect(pod?.status.initContainerStatuses?.[0]?.state.terminated?.exitCode).toBe(0);
    // The claim really is bound to the local volume on real-0.
    expect(
      (await kubectlOk(["get", "pvc", "models", "-n", ns.name, "-o", "jsonpath={.spec.volumeName}"])).trim(),
    ).toBe(pvName);

    const ip = await clusterIp(ns.name, NAME);
    const data = randomFloats(16 * 16, 21);
    const r = await waitFor(
      async () => {
        const x = await inferAt(ip, NAME, { tensor: data, shape: [1, 1, 16, 16] }).catch(() => undefined);
        return x?.status === 200 ? x : undefined;
      },
      30_000,
      500,
    );
    const body = JSON.parse(r.body) as { outputs: { name: string; data: number[] }[] };
    const got = body.outputs.find((o) => o.name === "logits")?.data ?? [];
    const want = (await reference.run({ image: new ort.Tensor("float32", data, [1, 1, 16, 16]) })).logits
      ?.data as Float32Array;
    expect(got.length).toBe(3);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(want[i] ?? Number.NaN, 5);
  });
});
