import type { FastifyInstance } from "fastify";
import type { MonitorContext } from "../context.ts";

/** One concern's routes. Modules are listed in routes/index.ts; the server registers them in order. */
export interface RouteModule {
  name: string;
  register(app: FastifyInstance, ctx: MonitorContext): void | Promise<void>;
}
