import http from "node:http";
import type { AddressInfo } from "node:net";
import type { OperatorMetrics } from "./metrics.ts";

export interface HealthServerOptions {
  port: number;
  host?: string;
  metrics: OperatorMetrics;
  /** Liveness: the process loop is alive (false only when shutting down badly). */
  healthy: () => boolean;
  /** Readiness: informer caches synced. Independent of leadership, so standby replicas are Ready. */
  ready: () => boolean;
}

/** /healthz, /readyz and /metrics on plain node:http — the operator has no other HTTP surface. */
export async function startHealthServer(
  o: HealthServerOptions,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/healthz" || path === "/livez") {
      const ok = o.healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "unhealthy\n");
      return;
    }
    if (path === "/readyz") {
      const ok = o.ready();
      res
        .writeHead(ok ? 200 : 503, { "content-type": "text/plain" })
        .end(ok ? "ok\n" : "caches not synced\n");
      return;
    }
    if (path === "/metrics") {
      o.metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": o.metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
