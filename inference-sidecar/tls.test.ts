/**
 * Transport security of the real sidecar process (bin/medmlops.js sidecar, onnxruntime): HTTPS from mounted
 * cert-manager-style files, mTLS and bearer-token refusals with a stable {error, code}, probes that still answer
 * without a credential, a certificate rotated on disk served without a restart, and records sent to a monitor
 * that itself serves TLS and requires a token.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securedFetch } from "../common/tls/client.ts";
import { type StartedMonitor, startMonitor } from "../monitor/testing/index.ts";
import { makePki, type Pki } from "../test/support/certs.ts";
import { writeModel } from "./testing/models.ts";
import { type SidecarProcess, startSidecarProcess } from "./testing/process.ts";

const body = JSON.stringify({
  inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.5) }],
});
const post = (f: typeof fetch, url: string, headers: Record<string, string> = {}) =>
  f(`${url}/v2/models/cnn/infer`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

function servedSerial(pki: Pki, url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: Number(port), ca: pki.read(pki.caCert) }, () => {
      const cert = s.getPeerCertificate() as PeerCertificate;
      s.end();
      resolve(`serial=${cert.serialNumber.toUpperCase().padStart(4, "0")}`);
    });
    s.once("error", reject);
  });
}

describe("sidecar transport security (real process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-sidecar-tls-"));
  const secret = join(dir, "secret"); // what the operator mounts: tls.crt, tls.key, ca.crt
  let pki: Pki;
  let model: string;
  let firstSerial: string;
  const procs: SidecarProcess[] = [];
  let monitor: StartedMonitor | undefined;

  beforeAll(() => {
    pki = makePki();
    mkdirSync(secret);
    const s1 = pki.issue("sidecar-1", { server: true });
    firstSerial = pki.serial(s1.cert);
    copyFileSync(s1.cert, join(secret, "tls.crt"));
    copyFileSync(s1.key, join(secret, "tls.key"));
    copyFileSync(pki.caCert, join(secret, "ca.crt"));
    model = writeModel(dir, "cnn");
  });
  afterAll(async () => {
    for (const p of procs) await p.stop();
    await monitor?.stop();
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mTLS: probes answer without a certificate, inference refuses one from no or another CA, and a rotated certificate is served", async () => {
    const trusting = securedFetch({ caFile: pki.caCert });
    const sc = await startSidecarProcess(
      [
        ...["--model", model, "--name", "cnn", "--warmup-runs", "0"],
        ...["--tls-cert", join(secret, "tls.crt"), "--tls-key", join(secret, "tls.key")],
        ...["--tls-client-ca", join(secret, "ca.crt"), "--client-auth", "mtls"],
      ],
      { scheme: "https", fetch: trusting },
    );
    procs.push(sc);
    // A kubelet HTTPS probe: no client certificate (and the kubelet does not verify the server's either).
    expect((await trusting(`${sc.url}/v2/health/ready`)).status).toBe(200);
    // Prometheus scrapes the metrics port: plain HTTP, no credential, whatever TLS the inference port serves.
    expect((await fetch(`${sc.metricsUrl}/metrics`)).status).toBe(200);
    // The inference port serves no /metrics, and under mtls it is not an open path (refused before routing).
    expect((await trusting(`${sc.url}/metrics`)).status).toBe(401);
    const refused = await post(trusting, sc.url);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ code: "CLIENT_CERT_REQUIRED", error: expect.any(String) });
    const meta = await trusting(`${sc.url}/v2/models/cnn`);
    expect(meta.status).toBe(401);
    const other = pki.issue("intruder", { otherCa: true });
    expect(
      (await post(securedFetch({ caFile: pki.caCert, certFile: other.cert, keyFile: other.key }), sc.url))
        .status,
    ).toBe(401);
    const c = pki.issue("ris-client");
    const client = securedFetch({ caFile: pki.caCert, certFile: c.cert, keyFile: c.key });
    const ok = await post(client, sc.url);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { outputs: unknown[] }).outputs.length).toBeGreaterThan(0);
    // Plain HTTP on the TLS port gets nowhere.
    await expect(fetch(`${sc.url.replace("https:", "http:")}/v2/health/live`)).rejects.toThrow();

    // cert-manager renews: the Secret's files change under the running process.
    const before = await servedSerial(pki, sc.url);
    const s2 = pki.issue("sidecar-2", { server: true });
    copyFileSync(s2.key, join(secret, "tls.key"));
    copyFileSync(s2.cert, join(secret, "tls.crt"));
    const end = Date.now() + 15_000;
    let now = before;
    while (now !== pki.serial(s2.cert)) {
      if (Date.now() > end) throw new Error(`still serving ${now} after rotation; output: ${sc.output()}`);
      await new Promise((r) => setTimeout(r, 200));
      now = await servedSerial(pki, sc.url);
    }
    expect(before).toBe(firstSerial);
    expect(now).not.toBe(before);
    expect(
      (await post(securedFetch({ caFile: pki.caCert, certFile: c.cert, keyFile: c.key }), sc.url)).status,
    ).toBe(200);
    expect(sc.child.exitCode).toBeNull();
  }, 90_000);

  it("token: refuses a missing or wrong bearer token, and sends its records to a TLS monitor that requires its own token", async () => {
    const m = pki.issue("monitor", { server: true });
    const monitorToken = join(dir, "monitor-token");
    writeFileSync(monitorToken, "monitor-token-for-sidecars-0001\n");
    monitor = await startMonitor({
      security: { tls: { certFile: m.cert, keyFile: m.key }, clientAuth: "token", tokenFile: monitorToken },
      clientTls: { caFile: pki.caCert, tokenFile: monitorToken },
    });
    const sidecarToken = join(dir, "sidecar-token");
    writeFileSync(sidecarToken, "inference-token-for-the-ris-01\n");
    const sc = await startSidecarProcess(
      [
        ...["--model", model, "--name", "cnn", "--warmup-runs", "0"],
        ...["--client-auth", "token", "--auth-token-file", sidecarToken],
        ...["--monitor-url", monitor.url, "--monitor-batch", "1", "--monitor-namespace", "radiology"],
        ...["--monitor-ca", pki.caCert, "--monitor-token-file", monitorToken],
      ],
      { env: { MEDMLOPS_CASE_ID_KEY: "tls-test-case-id-key-0123456789", MEDMLOPS_CASE_ID_KEY_FILE: "" } },
    );
    procs.push(sc);
    const none = await post(fetch, sc.url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await none.json()).toEqual({ code: "INVALID_TOKEN", error: expect.any(String) });
    expect(
      (await post(fetch, sc.url, { authorization: "Bearer monitor-token-for-sidecars-0001" })).status,
    ).toBe(401);
    for (let i = 0; i < 3; i++)
      expect(
        (await post(fetch, sc.url, { authorization: "Bearer inference-token-for-the-ris-01" })).status,
      ).toBe(200);
    // The monitor refuses anyone without its token…
    const anon = await securedFetch({ caFile: pki.caCert })(
      `${monitor.url}/v1/worklist?namespace=radiology&model=cnn`,
    );
    expect(anon.status).toBe(401);
    // …and holds the sidecar's three records, sent over TLS with the token.
    const end = Date.now() + 20_000;
    for (;;) {
      const { rows } = await monitor.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM records WHERE namespace = 'radiology' AND model = 'cnn'",
      );
      if (rows[0]!.n === 3) break;
      if (Date.now() > end) throw new Error(`records never arrived (${rows[0]!.n}); sidecar: ${sc.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);
});
