/**
 * The sidecar's metrics listener (`--metrics-port`, default 9090): `GET /metrics` and nothing else, plain HTTP,
 * no credential. A port of its own so a NetworkPolicy can let Prometheus reach the metrics without letting it
 * reach inference (L4 policy cannot tell paths apart); the inference port no longer serves /metrics. Probes stay
 * on the inference port, where they test the listener clients use. The metrics carry no request content (see
 * metrics.ts), so this port needs no TLS; who may reach it is the NetworkPolicy's business (docs/security.md).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { SidecarError } from "./errors.ts";
import { clientError, httpServer } from "./server-http.ts";

export const DEFAULT_METRICS_PORT = 9090;

/** Prometheus scrapes with one connection per target; a few spare for a human with curl. */
const METRICS_MAX_CONNECTIONS = 16;
/** A scrape is one small GET: anything slower than this is not a scraper. */
const METRICS_REQUEST_TIMEOUT_MS = 10_000;

export function metricsServer(registry: Registry, logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024,
    requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
    serverFactory: (handler) =>
      httpServer(handler, {
        requestTimeoutMs: METRICS_REQUEST_TIMEOUT_MS,
        maxConnections: METRICS_MAX_CONNECTIONS,
      }),
    clientErrorHandler: clientError,
  });
  app.removeAllContentTypeParsers();
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send(
        new SidecarError(
          "NOT_FOUND",
          `no route ${req.method} ${req.url.split("?")[0]?.slice(0, 100)} on the metrics port (only GET /metrics)`,
        ).toJSON(),
      );
  });
  app.setErrorHandler((_err, _req, reply) => {
    void reply
      .code(400)
      .send(new SidecarError("BAD_REQUEST", "the metrics port only answers GET /metrics").toJSON());
  });
  return app;
}
