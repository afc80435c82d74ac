// The metrics port on a real `medmlops monitor` process: /metrics is served there and only there, over the API's
// TLS certificate but without the API's client credential, and nothing of /v1 is — so a NetworkPolicy can let
// Prometheus reach one port without reaching the records, consent and audit API.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securedFetch } from "../common/tls/client.ts";
import { makePki, type Pki } from "../test/support/certs.ts";
import { syntheticCases } from "./testing/records.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "./testing/index.ts";

const BIN = fileURLToPath(new URL("../bin/medmlops.js", import.meta.url));

const accepted = (text: string) =>
  Number(/^medmlops_monitor_records_accepted_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);

describe("monitor metrics port (real process, mTLS API)", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-monitor-metrics-"));
  let pki: Pki;
  let m: SpawnedMonitor;
  let dataDir: string;
  /** Trusts the monitor's CA, presents nothing: what Prometheus is. */
  let anonymous: typeof fetch;

  beforeAll(async () => {
    pki = makePki();
    const server = pki.issue("monitor", { server: true });
    const client = pki.issue("operator");
    dataDir = await freshPgliteDir();
    m = await spawnMonitor({
      dataDir,
      args: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", pki.caCert],
      env: { MEDMLOPS_CLIENT_AUTH: "mtls" },
      clientTls: { caFile: pki.caCert, certFile: client.cert, keyFile: client.key },
    });
    anonymous = securedFetch({ caFile: pki.caCert });
  }, 120_000);
  afterAll(async () => {
    await m?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /metrics over HTTPS with the API's certificate, to a scraper without a client certificate", async () => {
    expect(m.metricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(m.metricsUrl).not.toBe(m.url);
    const before = await anonymous(`${m.metricsUrl}/metrics`);
    expect(before.status).toBe(200);
    expect(before.headers.get("content-type")).toMatch(/^text\/plain/);
    const n = accepted(await before.text());
    await m.client.postRecords(syntheticCases({ n: 1, start: new Date(), seed: 7 }).map((c) => c.record));
    expect(accepted(await (await anonymous(`${m.metricsUrl}/metrics`)).text())).toBe(n + 1);
    // Not plain HTTP, and not for a client that does not trust the CA.
    await expect(fetch(`${m.metricsUrl.replace("https:", "http:")}/metrics`)).rejects.toThrow();
    await expect(securedFetch({})(`${m.metricsUrl}/metrics`)).rejects.toThrow();
  });

  it("the API port serves no /metrics: 404 to the credentialed client, 401 to anyone else", async () => {
    const withCert = securedFetch({
      caFile: pki.caCert,
      ...(() => {
        const c = pki.issue("scraper");
        return { certFile: c.cert, keyFile: c.key };
      })(),
    });
    const r = await withCert(`${m.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: "no such route", code: "NOT_FOUND" });
    const anon = await anonymous(`${m.url}/metrics`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { code: string }).code).toBe("CLIENT_CERT_REQUIRED");
    // The probes stay open on the API port.
    expect((await anonymous(`${m.url}/healthz`)).status).toBe(200);
  });

  it("the metrics port serves nothing of /v1 or the probes", async () => {
    const c = pki.issue("operator-2");
    const withCert = securedFetch({ caFile: pki.caCert, certFile: c.cert, keyFile: c.key });
    for (const f of [anonymous, withCert])
      for (const [method, path] of [
        ["GET", "/v1/worklist?namespace=ns&model=m"],
        ["POST", "/v1/records"],
        ["GET", "/v1/consent/pn:abc"],
        ["GET", "/v1/audit"],
        ["GET", "/healthz"],
        ["POST", "/metrics"],
      ] as const) {
        const r = await f(`${m.metricsUrl}${path}`, {
          method,
          ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}),
        });
        expect(r.status, `${method} ${path}`).toBe(404);
        const body = (await r.json()) as { code: string; error: string };
        expect(body.code).toBe("NOT_FOUND");
        expect(body.error, "the path is not echoed").not.toContain("pn:");
      }
  });

  it("refuses --metrics-port equal to --port (exit 2) and a taken metrics port (exit 1, the API never listening)", async () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, "monitor", "--host", "127.0.0.1", ...args], {
        encoding: "utf8",
        env: { ...process.env, MEDMLOPS_DATABASE_URL: "" },
        timeout: 60_000,
      });
    const same = run(["--data-dir", join(dir, "never"), "--port", "9555", "--metrics-port", "9555"]);
    expect(same.status).toBe(2);
    expect(same.stderr).toContain("--metrics-port must differ from --port");

    const taken: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => resolve(s));
    });
    const d = await freshPgliteDir();
    try {
      const takenPort = (taken.address() as { port: number }).port;
      const r = run(["--data-dir", d, "--port", "0", "--metrics-port", String(takenPort)]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/"err":"listen EADDRINUSE[^"]*","msg":"cannot listen"/);
      expect(r.stdout).not.toContain("monitor listening");
    } finally {
      taken.close();
      rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});
