import type { RouteModule } from "./types.ts";

export const metrics: RouteModule = {
  name: "metrics",
  register(app, ctx) {
    app.get("/metrics", async (_req, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    });
  },
};
