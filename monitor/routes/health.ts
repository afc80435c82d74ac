import type { RouteModule } from "./types.ts";

/** Liveness (the process answers) and readiness (the database answers a query). */
export const health: RouteModule = {
  name: "health",
  register(app, ctx) {
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/readyz", async (_req, reply) => {
      try {
        await ctx.db.query("SELECT 1");
        return { status: "ready", engine: ctx.db.engine };
      } catch {
        return reply.code(503).send({ error: "database unavailable", code: "DATABASE_UNAVAILABLE" });
      }
    });
  },
};
