/**
 * ServerGuard and securedFetch against real HTTPS servers on loopback, with certificates openssl made: TLS is
 * served from the files, a rotated certificate is served without a restart, mTLS and bearer tokens refuse the
 * wrong callers with a stable {error, code}, and the client side presents its CA, certificate and token.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { makePki } from "../../test/support/certs.ts";
import { monitorClientArgs, monitorClientTls, securedFetch } from "./client.ts";
import { ServerGuard, ServerSecurityFlags, serverSecurity, withSecurityEnv } from "./server.ts";

const pki = makePki();
const server1 = pki.issue("server-1", { server: true });
const server2 = pki.issue("server-2", { server: true });
const client = pki.issue("client");
const stranger = pki.issue("stranger", { otherCa: true });
// The "mounted Secret": files the servers read, overwritten to rotate.
const crt = join(pki.dir, "tls.crt");
const key = join(pki.dir, "tls.key");
const tokenFile = join(pki.dir, "token");
const TOKEN = "s3cret-token-0123456789";

afterAll(() => pki.remove());

let running: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (running ? running.close(() => r()) : r()));
  running = undefined;
});

/** A server that answers 200 on /healthz and, on anything else, 200 only when the guard lets the request pass. */
async function serve(guard: ServerGuard): Promise<string> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const refusal = req.url === "/healthz" ? undefined : guard.check(req);
    res.setHeader("content-type", "application/json");
    if (refusal) {
      res.statusCode = refusal.status;
      res.end(JSON.stringify({ error: refusal.error, code: refusal.code }));
    } else res.end('{"ok":true}');
  };
  const server = guard.createServer({}, handler);
  running = server;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `${guard.scheme}://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function servedSerial(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(
      { host: "127.0.0.1", port: Number(port), ca: pki.read(pki.caCert), servername: "localhost" },
      () => {
        const cert = s.getPeerCertificate() as PeerCertificate;
        s.end();
        resolve(`serial=${cert.serialNumber.toUpperCase().padStart(4, "0")}`);
      },
    );
    s.once("error", reject);
  });
}

describe("TLS serving and rotation", () => {
  it("serves the mounted certificate and, after the files rotate, the new one — without a restart", async () => {
    copyFileSync(server1.cert, crt);
    copyFileSync(server1.key, key);
    const errors: string[] = [];
    const guard = new ServerGuard({ tls: { certFile: crt, keyFile: key }, clientAuth: "none" }, (m) =>
      errors.push(m),
    );
    const url = await serve(guard);
    expect(await servedSerial(url)).toBe(pki.serial(server1.cert));
    const f = securedFetch({ caFile: pki.caCert });
    expect((await f(`${url}/anything`)).status).toBe(200);
    // Without the CA the client refuses the server: the certificate is not from a public root.
    await expect(fetch(`${url}/anything`)).rejects.toThrow();

    // Half a rotation (new certificate, old key) is refused by setSecureContext: the old pair keeps serving.
    copyFileSync(server2.cert, crt);
    guard.reloadNow();
    expect(errors.join()).toMatch(/not applied/);
    expect(await servedSerial(url)).toBe(pki.serial(server1.cert));
    copyFileSync(server2.key, key);
    guard.reloadNow();
    expect(await servedSerial(url)).toBe(pki.serial(server2.cert));
    expect(pki.serial(server2.cert)).not.toBe(pki.serial(server1.cert));
  });

  it("the watch picks up a rotation on its own", async () => {
    copyFileSync(server1.cert, crt);
    copyFileSync(server1.key, key);
    const guard = new ServerGuard(
      { tls: { certFile: crt, keyFile: key }, clientAuth: "none" },
      () => {},
      100,
    );
    const url = await serve(guard);
    expect(await servedSerial(url)).toBe(pki.serial(server1.cert));
    copyFileSync(server2.key, key);
    copyFileSync(server2.cert, crt);
    const end = Date.now() + 5000;
    while ((await servedSerial(url)) !== pki.serial(server2.cert)) {
      if (Date.now() > end) throw new Error("rotation not picked up");
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("a missing file fails at start, naming it", () => {
    const guard = new ServerGuard({
      tls: { certFile: join(pki.dir, "nope.crt"), keyFile: key },
      clientAuth: "none",
    });
    expect(() => guard.createServer({}, () => {})).toThrow(/nope\.crt: ENOENT/);
  });
});

describe("mTLS", () => {
  it("refuses a caller without a client certificate or with one from another CA; health stays open", async () => {
    copyFileSync(server1.cert, crt);
    copyFileSync(server1.key, key);
    const guard = new ServerGuard({
      tls: { certFile: crt, keyFile: key, clientCaFile: pki.caCert },
      clientAuth: "mtls",
    });
    const url = await serve(guard);
    const anonymous = securedFetch({ caFile: pki.caCert });
    const r = await anonymous(`${url}/v1/records`);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ code: "CLIENT_CERT_REQUIRED", error: expect.any(String) });
    expect((await anonymous(`${url}/healthz`)).status).toBe(200);
    const wrongCa = securedFetch({ caFile: pki.caCert, certFile: stranger.cert, keyFile: stranger.key });
    expect((await wrongCa(`${url}/v1/records`)).status).toBe(401);
    const good = securedFetch({ caFile: pki.caCert, certFile: client.cert, keyFile: client.key });
    expect((await good(`${url}/v1/records`)).status).toBe(200);
  });
});

/** GET over a new TLS connection each time, through an agent that caches and offers TLS sessions. */
function getVia(agent: HttpsAgent, url: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent }, (res) => {
      res.resume();
      res.once("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          reused: (res.socket as import("node:tls").TLSSocket).isSessionReused(),
        }),
      );
    });
    req.once("error", reject);
    req.end();
  });
}

describe("mTLS and TLS session resumption", () => {
  it("a client that resumes a session is checked again: no certificate, or another CA's, stays refused", async () => {
    copyFileSync(server1.cert, crt);
    copyFileSync(server1.key, key);
    const guard = new ServerGuard({
      tls: { certFile: crt, keyFile: key, clientCaFile: pki.caCert },
      clientAuth: "mtls",
    });
    const url = await serve(guard);
    const ca = pki.read(pki.caCert);
    const anonymous = new HttpsAgent({ keepAlive: false, ca, maxCachedSessions: 10 });
    const strangerAgent = new HttpsAgent({
      keepAlive: false,
      ca,
      cert: pki.read(stranger.cert),
      key: pki.read(stranger.key),
      maxCachedSessions: 10,
    });
    for (let i = 0; i < 3; i++) {
      expect((await getVia(anonymous, `${url}/v1/x`)).status).toBe(401);
      expect((await getVia(strangerAgent, `${url}/v1/x`)).status).toBe(401);
    }
    const good = new HttpsAgent({
      keepAlive: false,
      ca,
      cert: pki.read(client.cert),
      key: pki.read(client.key),
    });
    expect((await getVia(good, `${url}/v1/x`)).status).toBe(200);
    expect((await getVia(good, `${url}/v1/x`)).status).toBe(200);
  });
});

describe("bearer token", () => {
  it("refuses a missing or wrong token, accepts the right one, and follows a rotated token file", async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const guard = new ServerGuard({ clientAuth: "token", tokenFile });
    const url = await serve(guard);
    const none = await fetch(`${url}/v1/x`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ code: "INVALID_TOKEN", error: expect.any(String) });
    const wrong = await fetch(`${url}/v1/x`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const prefix = await fetch(`${url}/v1/x`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } });
    expect(prefix.status).toBe(401);
    expect((await fetch(`${url}/v1/x`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const clientToken = join(pki.dir, "client-token");
    writeFileSync(clientToken, TOKEN);
    const f = securedFetch({ tokenFile: clientToken });
    expect((await f(`${url}/v1/x`)).status).toBe(200);

    writeFileSync(tokenFile, "rotated-token-abcdefghijkl\n");
    guard.reloadNow();
    expect((await fetch(`${url}/v1/x`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
    expect(
      (await fetch(`${url}/v1/x`, { headers: { authorization: "Bearer rotated-token-abcdefghijkl" } }))
        .status,
    ).toBe(200);
  });

  it("refuses a token file with a short token at start", () => {
    const short = join(pki.dir, "short-token");
    writeFileSync(short, "abc\n");
    expect(() =>
      new ServerGuard({ clientAuth: "token", tokenFile: short }).createServer({}, () => {}),
    ).toThrow(/at least 16/);
  });
});

describe("flags", () => {
  const parse = (v: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
    ServerSecurityFlags.safeParse(withSecurityEnv(v, env));
  it("checks the combinations and lets the environment fill what flags leave out", () => {
    expect(parse({ "tls-cert": "a" }).success).toBe(false);
    expect(parse({ "client-auth": "mtls", "tls-cert": "a", "tls-key": "b" }).success).toBe(false);
    expect(parse({ "client-auth": "token" }).success).toBe(false);
    expect(parse({ "client-auth": "basic" }).success).toBe(false);
    expect(parse({ "auth-token-file": "t" }).success).toBe(false);
    const env = { MEDMLOPS_CLIENT_AUTH: "token", MEDMLOPS_AUTH_TOKEN_FILE: "/t" };
    const r = parse({}, env);
    expect(r.success && serverSecurity(r.data)).toEqual({ clientAuth: "token", tokenFile: "/t" });
    const flagWins = parse({ "client-auth": "none" }, { MEDMLOPS_CLIENT_AUTH: "token" });
    expect(flagWins.success && serverSecurity(flagWins.data)).toEqual({ clientAuth: "none" });
  });

  it("client flags: cert and key together, env fills, args round-trip", () => {
    expect(() => monitorClientTls({ "monitor-cert": "c" }, {})).toThrow(/go together/);
    expect(monitorClientTls({}, {})).toBeUndefined();
    const files = monitorClientTls({ "monitor-ca": "/ca" }, { MEDMLOPS_MONITOR_TOKEN_FILE: "/tok" });
    expect(files).toEqual({ caFile: "/ca", tokenFile: "/tok" });
    expect(monitorClientArgs(files)).toEqual(["--monitor-ca", "/ca", "--monitor-token-file", "/tok"]);
  });
});
