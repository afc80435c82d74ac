/**
 * The monitor's metrics listener (`--metrics-port`, default 9091): `GET /metrics` and nothing else, no credential.
 * A port of its own so a NetworkPolicy can let Prometheus reach the metrics without reaching the `/v1` API
 * (records, annotations, consent, datasets, audit: L4 policy cannot tell paths apart); the API port serves no
 * /metrics. The sidecar has the same split (inference-sidecar/metrics-server.ts). Probes stay on the API port.
 *
 * TLS: unlike the sidecar's metrics port (always plain HTTP: the operator cannot hand a PodMonitor each model's
 * CA), this listener serves HTTPS with the API's certificate and key when the monitor has them (`--tls-cert`,
 * `--tls-key`, re-read on rotation like the API's), because the chart owns the monitor's CA and its ServiceMonitor
 * already verifies the monitor with it (scheme https, the CA, the Service's server name). It never asks for a
 * client certificate or token, whatever `--client-auth` says: Prometheus scrapes with none, and the metrics carry
 * no record content (metrics.ts); who reaches the port is the NetworkPolicy's business (docs/security.md).
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type ServerSecurity, ServerGuard } from "../common/tls/server.ts";

export const DEFAULT_METRICS_PORT = 9091;

/** Prometheus scrapes with one connection per target; a few spare for a human with curl. */
const METRICS_MAX_CONNECTIONS = 16;
/** A scrape is one small GET: anything slower than this is not a scraper. */
const METRICS_REQUEST_TIMEOUT_MS = 10_000;

export interface MonitorMetricsServer {
  app: FastifyInstance;
  guard: ServerGuard;
}

/** Builds (does not listen) the metrics listener: the API's certificate and key when it has them, no client auth. */
export function buildMetricsServer(opts: {
  registry: Registry;
  log: Logger;
  security?: ServerSecurity;
}): MonitorMetricsServer {
  const tls = opts.security?.tls;
  const guard = new ServerGuard(
    { ...(tls ? { tls: { certFile: tls.certFile, keyFile: tls.keyFile } } : {}), clientAuth: "none" },
    (message) =>
      opts.log.error(
        { message },
        "metrics port: rotated TLS files not applied; the previous ones stay in use",
      ),
  );
  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
    serverFactory: (handler) => {
      const server = guard.createServer(
        {
          requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
          headersTimeout: METRICS_REQUEST_TIMEOUT_MS,
        },
        handler,
      );
      server.maxConnections = METRICS_MAX_CONNECTIONS;
      return server;
    },
  });
  app.removeAllContentTypeParsers();
  app.get("/metrics", async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });
  // The path is not echoed: a /v1 URL sent here by mistake can carry a pseudonym (/v1/consent/pn:…).
  app.setNotFoundHandler((_req, reply) =>
    reply
      .code(404)
      .send({ error: "no such route on the metrics port (only GET /metrics)", code: "NOT_FOUND" }),
  );
  app.setErrorHandler((_err, _req, reply) =>
    reply.code(400).send({ error: "the metrics port only answers GET /metrics", code: "BAD_REQUEST" }),
  );
  return { app, guard };
}
