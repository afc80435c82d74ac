/**
 * Transport security of the real `medmlops monitor` process: HTTPS from cert-manager-style files, mTLS from the
 * command line and a bearer token from the environment (as the chart passes it); /healthz and /readyz stay open
 * for kubelet probes, every /v1 route (writes and reads) refuses a caller without the credential with a stable
 * {error, code}, and the typed client gets through with it. Bad settings fail before listening.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securedFetch } from "../common/tls/client.ts";
import { makePki, type Pki } from "../test/support/certs.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "./testing/index.ts";

const BIN = fileURLToPath(new URL("../bin/medmlops.js", import.meta.url));

describe("monitor transport security (real process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-monitor-tls-"));
  let pki: Pki;
  let server: { cert: string; key: string };
  const running: SpawnedMonitor[] = [];
  const dataDirs: string[] = [];

  beforeAll(() => {
    pki = makePki();
    server = pki.issue("monitor", { server: true });
  });
  afterAll(async () => {
    for (const m of running) await m.stop();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(opts: Parameters<typeof spawnMonitor>[0]): Promise<SpawnedMonitor> {
    const dataDir = await freshPgliteDir();
    dataDirs.push(dataDir);
    const m = await spawnMonitor({ dataDir, ...opts });
    running.push(m);
    return m;
  }

  it("mTLS: probes open, every /v1 route refuses a caller without a client certificate, the client gets through with one", async () => {
    const c = pki.issue("operator");
    const m = await start({
      args: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", pki.caCert],
      env: { MEDMLOPS_CLIENT_AUTH: "mtls" },
      clientTls: { caFile: pki.caCert, certFile: c.cert, keyFile: c.key },
    });
    expect(m.url).toMatch(/^https:/);
    const anonymous = securedFetch({ caFile: pki.caCert });
    expect((await anonymous(`${m.url}/healthz`)).status).toBe(200);
    expect((await anonymous(`${m.url}/readyz`)).status).toBe(200);
    for (const [method, path] of [
      ["POST", "/v1/records"],
      ["PUT", "/v1/policies/ns/p"],
      ["GET", "/v1/worklist?namespace=ns&model=m"],
      ["GET", "/v1/audit"],
      ["GET", "/v1/no-such-route"],
    ] as const) {
      const r = await anonymous(`${m.url}${path}`, {
        method,
        ...(method === "GET" ? {} : { headers: { "content-type": "application/json" }, body: "{}" }),
      });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(await r.json()).toEqual({ code: "CLIENT_CERT_REQUIRED", error: expect.any(String) });
    }
    expect(await m.client.ready()).toBe(true);
    const page = await m.client.worklist({ namespace: "ns", model: "m" });
    expect(page).toBeDefined();
  }, 120_000);

  it("token from the environment: refused without it, accepted with it", async () => {
    const token = join(dir, "token");
    writeFileSync(token, "monitor-bearer-token-000000001\n");
    const m = await start({
      args: ["--tls-cert", server.cert, "--tls-key", server.key],
      env: { MEDMLOPS_CLIENT_AUTH: "token", MEDMLOPS_AUTH_TOKEN_FILE: token },
      clientTls: { caFile: pki.caCert, tokenFile: token },
    });
    const anonymous = securedFetch({ caFile: pki.caCert });
    const r = await anonymous(`${m.url}/v1/worklist?namespace=ns&model=m`);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await r.json()).toEqual({ code: "INVALID_TOKEN", error: expect.any(String) });
    await expect(m.client.worklist({ namespace: "ns", model: "m" })).resolves.toBeDefined();
    // A client that does not trust the monitor's CA never gets to send its token.
    const { MonitorClient, MonitorUnavailableError } = await import("./client.ts");
    const untrusting = new MonitorClient(m.url, { tls: { tokenFile: token } });
    await expect(untrusting.worklist({ namespace: "ns", model: "m" })).rejects.toBeInstanceOf(
      MonitorUnavailableError,
    );
  }, 120_000);

  it("bad settings: usage errors exit 2, an unreadable certificate exits 1 naming the file", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, "monitor", "--data-dir", join(dir, "never"), ...args], {
        encoding: "utf8",
        env: { ...process.env, MEDMLOPS_DATABASE_URL: "" },
        timeout: 60_000,
      });
    const half = run(["--tls-cert", server.cert]);
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
    const mtls = run(["--client-auth", "mtls"]);
    expect(mtls.status).toBe(2);
    expect(mtls.stderr).toMatch(/mtls needs/);
    const missing = run([
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--tls-cert",
      join(dir, "absent.crt"),
      "--tls-key",
      server.key,
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stdout + missing.stderr).toMatch(/absent\.crt: ENOENT/);
  }, 120_000);
});
