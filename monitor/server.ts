import Fastify, { type FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import type { MonitorContext } from "./context.ts";
import type { Db } from "./db/index.ts";
import { ApiError, errorHandler } from "./errors.ts";
import { createMetrics, type MonitorMetrics } from "./metrics.ts";
import { type RouteModule, routeModules } from "./routes/index.ts";

export interface MonitorServerOptions {
  db: Db;
  log?: Logger;
  now?: () => Date;
  metrics?: MonitorMetrics;
  routes?: RouteModule[];
  /** Largest request body; 10,000 records of ~2 kB fit in the default. */
  bodyLimitBytes?: number;
}

export interface MonitorServer {
  app: FastifyInstance;
  ctx: MonitorContext;
}

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
  };
  const app = Fastify({
    bodyLimit: opts.bodyLimitBytes ?? 64 * 1024 * 1024,
    logger: false,
    return503OnClosing: true,
  });
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: "no such route", code: "NOT_FOUND" }),
  );
  for (const m of opts.routes ?? routeModules) await m.register(app, ctx);
  await app.ready();
  return { app, ctx };
}

export { ApiError };
