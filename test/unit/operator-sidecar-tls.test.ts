// spec.serving.tls end to end without a cluster: the MedModel controller's Deployment builder decides the pod, this
// test plays the kubelet (every volume the sidecar mounts written under a temporary root: the model, the
// ConfigMap's signature and control file, the key Secrets, and the TLS and token Secrets holding real openssl
// certificates from test/support/certs.ts) and starts the real sidecar (bin/medmlops.js sidecar) with exactly the
// builder's arguments and environment — only absolute paths moved under the root and the two ports replaced by
// free ones. It must serve HTTPS, answer a kubelet-style probe without a credential, and refuse inference without the
// client certificate or token the MedModel asks for; a rotated token Secret is read without a restart.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securedFetch } from "../../common/tls/client.ts";
import { startSidecarProcess, type SidecarProcess } from "../../inference-sidecar/testing/process.ts";
import { writeModel } from "../../inference-sidecar/testing/models.ts";
import { buildConfigMap, buildDeployment, PATHS } from "../../operator/medmodel/children.ts";
import { medModel } from "../../operator/medmodel/fixtures.ts";
import { makePki, type Pki } from "../support/certs.ts";

interface Mount {
  name: string;
  mountPath: string;
}
interface Volume {
  name: string;
  secret?: { secretName: string; items: { key: string; path: string }[] };
  configMap?: { name: string; items: { key: string; path: string }[] };
}
interface Pod {
  containers: {
    name: string;
    args: string[];
    env: { name: string; value: string }[];
    volumeMounts: Mount[];
    readinessProbe: { httpGet: { path: string; scheme?: string } };
  }[];
  volumes: Volume[];
}

const TOKEN_1 = "ris-gateway-token-0001-abcdefgh";
const TOKEN_2 = "ris-gateway-token-0002-rotated!";
const body = JSON.stringify({
  inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) }],
});

let dir: string;
let pki: Pki;
let modelFile: string;
const procs: SidecarProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "medmlops-serving-tls-"));
  pki = makePki();
  modelFile = writeModel(dir, "cnn");
});
afterAll(async () => {
  for (const p of procs) await p.stop();
  pki?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The MedModel, its pod as the builder makes it, and the pod's files laid out under `root` as the kubelet would. */
function podFor(tls: Record<string, unknown>, secrets: Record<string, Record<string, Buffer | string>>) {
  const sha256 = createHash("sha256").update(readFileSync(modelFile)).digest("hex");
  const model = medModel({
    signature: {
      inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, 16, 16] }],
      outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 3], labels: ["normal", "nodule", "mass"] }],
    },
    versions: [{ name: "v1", source: { uri: "https://models.hospital.example/cnn.onnx", sha256 } }],
    activeVersion: "v1",
    serving: { tls },
  });
  const dep = buildDeployment(model, model.spec.versions[0]!, 1, { sidecarImage: "img:1" }) as {
    spec: { template: { spec: Pod } };
  };
  const pod = dep.spec.template.spec;
  const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
  const cm = buildConfigMap(model, { control: { suspended: false } }) as { data: Record<string, string> };
  const root = mkdtempSync(join(dir, "pod-"));
  for (const m of sidecar.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === m.name)!;
    mkdirSync(join(root, m.mountPath), { recursive: true });
    if (v.configMap)
      for (const i of v.configMap.items) writeFileSync(join(root, m.mountPath, i.path), cm.data[i.key]!);
    if (v.secret) {
      // A key Secret the test does not name holds a random key (the deid and case-id keys).
      const data = secrets[v.secret.secretName] ?? {};
      for (const i of v.secret.items)
        writeFileSync(join(root, m.mountPath, i.path), data[i.key] ?? randomBytes(32).toString("hex"));
    }
  }
  // fetch-model's work: the verified model where the sidecar reads it.
  writeFileSync(join(root, PATHS.model), readFileSync(modelFile));
  const moved = (v: string) => (v.startsWith("/") ? join(root, v) : v);
  const args = sidecar.args.slice(1).map(moved);
  // startSidecarProcess gives both ports free loopback ports instead.
  for (const f of ["--port", "--metrics-port"]) args.splice(args.indexOf(f), 2);
  const env: Record<string, string | undefined> = {
    MEDMLOPS_TLS_CERT: undefined,
    MEDMLOPS_TLS_KEY: undefined,
    MEDMLOPS_TLS_CLIENT_CA: undefined,
    MEDMLOPS_CLIENT_AUTH: undefined,
    MEDMLOPS_AUTH_TOKEN_FILE: undefined,
  };
  for (const e of sidecar.env) env[e.name] = moved(e.value);
  return { root, args, env, sidecar };
}

/** The serving certificate (for 127.0.0.1) and its CA, as a cert-manager Certificate's Secret holds them. */
let issued: { cert: Buffer; key: Buffer; ca: Buffer } | undefined;
function server() {
  if (!issued) {
    const s = pki.issue("chest-v1", { server: true });
    issued = { cert: pki.read(s.cert), key: pki.read(s.key), ca: pki.read(pki.caCert) };
  }
  return issued;
}

/** What a kubelet HTTPS probe does: no client certificate, the server's certificate not verified. */
function kubeletProbe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.once("error", reject);
    r.end();
  });
}

const infer = (f: typeof fetch, url: string, headers: Record<string, string> = {}) =>
  f(`${url}/v2/models/chest/infer`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("spec.serving.tls: the real sidecar started with the builder's arguments", () => {
  it("mtls: HTTPS, open probes, inference only with a client certificate of the Secret's ca.crt", async () => {
    const s = server();
    const { args, env, sidecar } = podFor(
      { secretName: "chest-tls", clientAuth: "mtls" },
      { "chest-tls": { "tls.crt": s.cert, "tls.key": s.key, "ca.crt": s.ca } },
    );
    const trusting = securedFetch({ caFile: pki.caCert });
    const sc = await startSidecarProcess(args, { env, scheme: "https", fetch: trusting });
    procs.push(sc);
    expect(sidecar.readinessProbe.httpGet.scheme).toBe("HTTPS");
    expect(await kubeletProbe(`${sc.url}${sidecar.readinessProbe.httpGet.path}`)).toBe(200);
    // The server's certificate is the Secret's: a client that trusts the Secret's CA connects.
    const refused = await infer(trusting, sc.url);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ code: "CLIENT_CERT_REQUIRED", error: expect.any(String) });
    const intruder = pki.issue("intruder", { otherCa: true });
    const other = securedFetch({ caFile: pki.caCert, certFile: intruder.cert, keyFile: intruder.key });
    expect((await infer(other, sc.url)).status).toBe(401);
    const ris = pki.issue("ris");
    const client = securedFetch({ caFile: pki.caCert, certFile: ris.cert, keyFile: ris.key });
    const ok = await infer(client, sc.url);
    expect(ok.status, sc.output()).toBe(200);
    expect(((await ok.json()) as { outputs: { name: string }[] }).outputs[0]!.name).toBe("logits");
    await expect(fetch(`${sc.url.replace("https:", "http:")}/v2/health/live`)).rejects.toThrow();
    // The separate metrics port stays plain HTTP without a credential (the chart's PodMonitor scrapes it).
    expect((await fetch(`${sc.metricsUrl}/metrics`)).status).toBe(200);
  }, 90_000);

  it("token: HTTPS, inference only with the token Secret's bearer token, a rotated token read without a restart", async () => {
    const s = server();
    const { root, args, env } = podFor(
      {
        secretName: "chest-tls",
        clientAuth: "token",
        tokenSecretRef: { name: "chest-token", key: "bearer" },
      },
      {
        "chest-tls": { "tls.crt": s.cert, "tls.key": s.key },
        "chest-token": { bearer: `${TOKEN_1}\n` },
      },
    );
    const trusting = securedFetch({ caFile: pki.caCert });
    const sc = await startSidecarProcess(args, { env, scheme: "https", fetch: trusting });
    procs.push(sc);
    const none = await infer(trusting, sc.url);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ code: "INVALID_TOKEN", error: expect.any(String) });
    expect((await infer(trusting, sc.url, { authorization: "Bearer wrong-token-000000000" })).status).toBe(
      401,
    );
    expect((await infer(trusting, sc.url, { authorization: `Bearer ${TOKEN_1}` })).status).toBe(200);
    // The kubelet updates the mounted Secret: the sidecar re-reads it (no rollout).
    writeFileSync(join(root, PATHS.token), `${TOKEN_2}\n`);
    const end = Date.now() + 15_000;
    while ((await infer(trusting, sc.url, { authorization: `Bearer ${TOKEN_2}` })).status !== 200) {
      if (Date.now() > end) throw new Error(`rotated token never accepted: ${sc.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await infer(trusting, sc.url, { authorization: `Bearer ${TOKEN_1}` })).status).toBe(401);
    expect(sc.child.exitCode).toBeNull();
  }, 90_000);
});
