import Fastify, { type FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import { type ServerSecurity, ServerGuard } from "../common/tls/server.ts";
import type { MonitorContext } from "./context.ts";
import type { Db } from "./db/index.ts";
import { ApiError, errorHandler } from "./errors.ts";
import { createMetrics, type MonitorMetrics } from "./metrics.ts";
import type { RetentionConfig } from "./retention-decision.ts";
import { type RetentionRunner, startRetention } from "./retention.ts";
import { buildMetricsServer } from "./metrics-server.ts";
import { type RouteModule, routeModules } from "./routes/index.ts";

export interface MonitorServerOptions {
  db: Db;
  log?: Logger;
  now?: () => Date;
  metrics?: MonitorMetrics;
  routes?: RouteModule[];
  /** Largest request body; 10,000 records of ~2 kB fit in the default. */
  bodyLimitBytes?: number;
  /** TLS and client authentication (docs/security.md); default plain HTTP, no credential. */
  security?: ServerSecurity;
  /** Delete raw records older than `days` (retention.ts); the sweep stops when the app closes. */
  retention?: RetentionConfig;
}

export interface MonitorServer {
  /** The API: probes and /v1 (no /metrics). Closing it closes metricsApp too. */
  app: FastifyInstance;
  /** The metrics listener: GET /metrics only (metrics-server.ts); listen on it separately. */
  metricsApp: FastifyInstance;
  ctx: MonitorContext;
  guard: ServerGuard;
  /** The retention sweep, when configured. */
  retention?: RetentionRunner;
}

/** Routes anyone who can reach the API port may call: the probes. Everything else needs the credential. */
const OPEN_ROUTES = new Set(["/healthz", "/readyz"]);

/**
 * Builds the monitor's HTTP app from the route modules. No request logging by fastify (logger off): URLs can carry a
 * pseudonym (/v1/consent/pn:…), so the monitor logs route patterns only.
 */
export async function buildServer(opts: MonitorServerOptions): Promise<MonitorServer> {
  const log = opts.log ?? pino({ level: "silent" });
  const ctx: MonitorContext = {
    db: opts.db,
    log,
    metrics: opts.metrics ?? createMetrics(),
    now: opts.now ?? (() => new Date()),
    retentionDays: opts.retention?.days,
  };
  const guard = new ServerGuard(opts.security ?? { clientAuth: "none" }, (message) =>
    log.error({ message }, "rotated TLS or token files not applied; the previous ones stay in use"),
  );
  const app = Fastify({
    bodyLimit: opts.bodyLimitBytes ?? 64 * 1024 * 1024,
    logger: false,
    return503OnClosing: true,
    serverFactory: (handler) => guard.createServer({}, handler),
  });
  if (guard.security.clientAuth !== "none")
    // Reads too: the worklist, consent, dataset and audit routes return case ids and pseudonyms.
    app.addHook("onRequest", (req, reply, next) => {
      const path = req.url.split("?", 1)[0]!;
      const refusal = OPEN_ROUTES.has(path) ? undefined : guard.check(req.raw);
      if (!refusal) return next();
      if (refusal.wwwAuthenticate) void reply.header("www-authenticate", refusal.wwwAuthenticate);
      void reply.code(refusal.status).send({ error: refusal.error, code: refusal.code });
    });
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: "no such route", code: "NOT_FOUND" }),
  );
  for (const m of opts.routes ?? routeModules) await m.register(app, ctx);
  const metrics = buildMetricsServer({
    registry: ctx.metrics.registry,
    log,
    ...(opts.security ? { security: opts.security } : {}),
  });
  let retention: RetentionRunner | undefined;
  app.addHook("onClose", async () => {
    await retention?.stop();
    await metrics.app.close();
  });
  await app.ready();
  await metrics.app.ready();
  if (opts.retention) retention = startRetention(ctx, opts.retention);
  return { app, metricsApp: metrics.app, ctx, guard, ...(retention ? { retention } : {}) };
}

export { ApiError };
