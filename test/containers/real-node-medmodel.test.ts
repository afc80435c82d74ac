/**
 * The operator's pods on the real node real-0 (test/cluster/real-node.ts): real processes in real pods. A
 * MedModel whose model comes from a configmap:// source: the fetch-model init container copies and verifies it,
 * the sidecar starts, the readiness probe passes for real, and an OIP v2 inference through the stable Service's
 * ClusterIP (kube-proxy's iptables rules) returns what onnxruntime computes in this process. Then a version with a
 * wrong digest: the init container fails, the status says DigestMismatch (from the real termination message),
 * and the serving version keeps answering through the Service. Then the stop button: 503 through the Service.
 * The pods' securityContext holds inside the running container.
 *
 * Runs only with the real node (MEDMLOPS_REAL_NODE=1 or CI=true; see vitest.config.ts and docs/testing.md).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomFloats } from "../../inference-sidecar/testing/harness.ts";
import { writeModel } from "../../inference-sidecar/testing/models.ts";
import { type FreshNamespace, freshNamespace, kubectl, kubectlOk, waitFor } from "../cluster/client.ts";
import { IMAGE_REF, REAL_NODE, REAL_NODE_PLACEMENT } from "../cluster/real-node.ts";
import {
  getModel,
  type Harness,
  harness,
  installCrds,
  type MM,
  medModelManifest,
} from "../integration/medmodel-support.ts";

const NAME = "cnn";
let ns: FreshNamespace;
let h: Harness;
let work: string;
let modelBytes: Buffer;
let sha: string;
let reference: ort.InferenceSession;

const signature = {
  inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 16, 16] }],
  outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3], labels: ["normal", "nodule", "mass"] }],
};

function manifest(
  versions: { name: string; source: { uri: string; sha256: string } }[],
  extra: Record<string, unknown> = {},
): MM {
  return medModelManifest(NAME, ns.name, {
    signature,
    versions,
    activeVersion: "v1",
    serving: { replicas: 1, image: IMAGE_REF, ...REAL_NODE_PLACEMENT },
    failover: { unavailableAfter: "5s" },
    ...extra,
  }) as unknown as MM;
}

async function clusterIp(): Promise<string> {
  return (
    await kubectlOk(["get", "service", NAME, "-n", ns.name, "-o", "jsonpath={.spec.clusterIP}"])
  ).trim();
}

async function infer(ip: string, data: Float32Array): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${ip}:80/v2/models/${NAME}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: [...data] }],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

async function describeState(): Promise<string> {
  const pods = await kubectl(["get", "pods", "-n", ns.name, "-o", "wide"]);
  const m = await getModel(h, ns.name, NAME);
  return `${pods.stdout}\n${JSON.stringify(m?.status, null, 1)}`;
}

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("real-node");
  work = mkdtempSync(join(tmpdir(), "real-node-"));
  modelBytes = readFileSync(writeModel(work, "cnn"));
  sha = createHash("sha256").update(modelBytes).digest("hex");
  reference = await ort.InferenceSession.create(join(work, "cnn.onnx"));
  await kubectlOk([
    "-n",
    ns.name,
    "create",
    "configmap",
    "models",
    `--from-file=model.onnx=${join(work, "cnn.onnx")}`,
  ]);
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
  if (work) rmSync(work, { recursive: true, force: true });
});

describe(`MedModel pods on ${REAL_NODE}`, () => {
  it("a configmap:// model: real init container, real readiness probe, inference through the ClusterIP equals onnxruntime", async () => {
    await h.user.apply(
      manifest([{ name: "v1", source: { uri: "configmap://models/model.onnx", sha256: sha } }]),
    );
    const ready = await waitFor(
      async () => {
        const m = await getModel(h, ns.name, NAME);
        const v1 = m?.status?.versions?.find((v) => v.name === "v1");
        return (v1?.readyReplicas ?? 0) >= 1 && m?.status?.activeVersion === "v1" ? m : undefined;
      },
      180_000,
      1000,
    ).catch(async (err) => {
      throw new Error(`${String(err)}\n${await describeState()}`);
    });
    expect(ready.status?.activeVersion).toBe("v1");
    const pod = JSON.parse(
      await kubectlOk(["get", "pods", "-n", ns.name, "-l", `medmlops.io/model=${NAME}`, "-o", "json"]),
    ) as {
      items: {
        spec: { nodeName: string };
        status: { initContainerStatuses: { state: { terminated?: { exitCode: number } } }[] };
      }[];
    };
    expect(pod.items[0]?.spec.nodeName).toBe(REAL_NODE);
    expect(pod.items[0]?.status.initContainerStatuses[0]?.state.terminated?.exitCode).toBe(0);

    const ip = await clusterIp();
    const data = randomFloats(16 * 16, 11);
    const r = await waitFor(
      async () => {
        const x = await infer(ip, data).catch(() => undefined);
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

  it("the pod's securityContext holds in the running container: uid 10001, no capabilities, read-only root", async () => {
    const podName = (
      await kubectlOk([
        "get",
        "pods",
        "-n",
        ns.name,
        "-l",
        `medmlops.io/model=${NAME},medmlops.io/version=v1`,
        "-o",
        "jsonpath={.items[0].metadata.name}",
      ])
    ).trim();
    const out = await kubectlOk([
      ...["exec", "-n", ns.name, podName, "-c", "sidecar", "--"],
      ...[
        "/bin/sh",
        "-c",
        "id -u; id -g; grep -E '^Cap(Eff|Bnd)|^NoNewPrivs' /proc/self/status; touch /app/x 2>&1; touch /x 2>&1; true",
      ],
    ]);
    const lines = out.split("\n");
    expect(lines[0]).toBe("10001");
    expect(lines[1]).toBe("10001");
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
    expect(out).toMatch(/CapBnd:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/\/app\/x': Read-only file system/);
    expect(out).toMatch(/\/x': Read-only file system/);
  });

  it("a wrong digest: the init container fails, status says DigestMismatch, the serving version keeps answering", {
    timeout: 200_000,
  }, async () => {
    const wrong = "0".repeat(64);
    await h.user.apply(
      manifest(
        [
          { name: "v1", source: { uri: "configmap://models/model.onnx", sha256: sha } },
          { name: "v2", source: { uri: "configmap://models/model.onnx", sha256: wrong } },
        ],
        { activeVersion: "v2" },
      ),
    );
    const t0 = Date.now();
    const failed = await waitFor(
      async () => {
        const m = await getModel(h, ns.name, NAME);
        const v2 = m?.status?.versions?.find((v) => v.name === "v2") as
          | { phase?: string; message?: string }
          | undefined;
        return v2?.phase === "Failed" && v2.message?.includes("DigestMismatch") ? { m, v2 } : undefined;
      },
      150_000,
      1000,
    ).catch(async (err) => {
      throw new Error(`${String(err)}\n${await describeState()}`);
    });
    console.error(`[real-node] DigestMismatch reported ${Date.now() - t0} ms after the apply`);
    expect(failed.v2.message).toContain("DigestMismatch");
    // The reason came from the real container: its termination message.
    const term = await kubectlOk([
      ...["get", "pods", "-n", ns.name, "-l", `medmlops.io/model=${NAME},medmlops.io/version=v2`],
      "-o",
      "jsonpath={.items[0].status.initContainerStatuses[0].lastState.terminated.message}{.items[0].status.initContainerStatuses[0].state.terminated.message}",
    ]);
    expect(term).toContain("DigestMismatch");
    // v1 keeps serving through the stable Service.
    const ip = await clusterIp();
    const r = await infer(ip, randomFloats(256, 3));
    expect(r.status).toBe(200);
    expect((await getModel(h, ns.name, NAME))?.status?.activeVersion).toBe("v1");
  });

  it("the stop button: requests through the Service get 503 refer to clinician", async () => {
    await h.user.apply(
      manifest([{ name: "v1", source: { uri: "configmap://models/model.onnx", sha256: sha } }], {
        suspend: true,
        suspendReason: "integration test of the stop button",
      }),
    );
    const ip = await clusterIp();
    const t0 = Date.now();
    const r = await waitFor(
      async () => {
        const x = await infer(ip, randomFloats(256, 5)).catch(() => undefined);
        return x?.status === 503 ? x : undefined;
      },
      120_000,
      500,
    );
    const delay = Date.now() - t0;
    console.error(`[real-node] stop button: 503 through the Service after ${delay} ms`);
    expect(r.body).toContain("refer to clinician");
  });
});
