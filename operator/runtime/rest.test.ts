import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, isGone, isNotFound, restClientFromKubeConfig } from "./rest.ts";

// A stand-in HTTP server on loopback to check the client's wire behaviour (the real API server is exercised by
// test/integration/runtime-*.test.ts).
let server: http.Server;
let port: number;
const seen: Array<{ method?: string; url?: string; auth?: string; ct?: string; body: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        ct: req.headers["content-type"],
        body,
      });
      if (req.url?.startsWith("/missing")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            kind: "Status",
            reason: "NotFound",
            message: 'configmaps "x" not found',
            code: 404,
          }),
        );
      } else if (req.url?.startsWith("/gone")) {
        res.writeHead(410).end("not json");
      } else if (req.url?.startsWith("/watch")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"BOOK');
        setTimeout(() => res.end('MARK","object":{"metadata":{"resourceVersion":"9"}}}\n'), 20);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: true, echo: body ? JSON.parse(body) : null }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function client() {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "secret-token" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return restClientFromKubeConfig(kc);
}

describe("rest client", () => {
  it("sends JSON with the bearer token, the content type and query", async () => {
    const out = await client().request<{ echo: unknown }>("PATCH", "/apis/x", {
      body: { a: 1 },
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: "medmlops-operator", force: true, skip: undefined },
    });
    expect(out.echo).toEqual({ a: 1 });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({
      method: "PATCH",
      url: "/apis/x?fieldManager=medmlops-operator&force=true",
      auth: "Bearer secret-token",
      ct: "application/apply-patch+yaml",
    });
  });

  it("turns API Status errors into ApiError with status and reason", async () => {
    const err = await client()
      .request("GET", "/missing")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(isNotFound(err)).toBe(true);
    expect((err as ApiError).reason).toBe("NotFound");
    const gone = await client()
      .request("GET", "/gone")
      .catch((e: unknown) => e);
    expect(isGone(gone)).toBe(true);
  });

  it("streams lines split across chunks", async () => {
    const lines: string[] = [];
    await client().stream("/watch", { signal: new AbortController().signal, onLine: (l) => lines.push(l) });
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED", "BOOKMARK"]);
  });

  it("aborts a request through its signal or timeout", async () => {
    const hang = http.createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: "c",
          server: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const started = Date.now();
    await expect(restClientFromKubeConfig(kc).request("GET", "/x", { timeoutMs: 100 })).rejects.toThrow(
      /abort|timeout/i,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    hang.closeAllConnections();
    await new Promise((r) => hang.close(r));
  });
});
