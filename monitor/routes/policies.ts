import { z } from "zod";
import { ApiError, parseOr400 } from "../errors.ts";
import { evaluatePolicy } from "../evaluate.ts";
import { EvaluateRequestSchema, Namespace, ObjectName, PutPolicySchema } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Params = z.object({ namespace: Namespace, name: ObjectName });

/** PUT/GET/DELETE /v1/policies/{namespace}/{name}, POST …/evaluate. */
export const policies: RouteModule = {
  name: "policies",
  register(app, ctx) {
    app.put("/v1/policies/:namespace/:name", async (req) => {
      const { namespace, name } = parseOr400(Params, req.params, "INVALID_PATH");
      const body = parseOr400(PutPolicySchema, req.body, "INVALID_POLICY");
      await ctx.db.query(
        `INSERT INTO policies (namespace, name, model, spec) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (namespace, name) DO UPDATE SET model = EXCLUDED.model, spec = EXCLUDED.spec, updated_at = now()`,
        [namespace, name, body.model, JSON.stringify(body.spec)],
      );
      return { namespace, name, model: body.model };
    });
    app.get("/v1/policies/:namespace/:name", async (req) => {
      const { namespace, name } = parseOr400(Params, req.params, "INVALID_PATH");
      const { rows } = await ctx.db.query<{ model: string; spec: unknown }>(
        "SELECT model, spec FROM policies WHERE namespace = $1 AND name = $2",
        [namespace, name],
      );
      if (!rows[0]) throw new ApiError(404, "POLICY_NOT_FOUND", "no such policy");
      return { namespace, name, model: rows[0].model, spec: rows[0].spec };
    });
    app.delete("/v1/policies/:namespace/:name", async (req, reply) => {
      const { namespace, name } = parseOr400(Params, req.params, "INVALID_PATH");
      await ctx.db.query("DELETE FROM policies WHERE namespace = $1 AND name = $2", [namespace, name]);
      return reply.code(204).send();
    });
    app.post("/v1/policies/:namespace/:name/evaluate", async (req) => {
      const { namespace, name } = parseOr400(Params, req.params, "INVALID_PATH");
      const body = parseOr400(EvaluateRequestSchema, req.body ?? {}, "INVALID_EVALUATE");
      const now = body.now ? new Date(body.now) : ctx.now();
      return evaluatePolicy(ctx, namespace, name, [...new Set(body.versions)], now);
    });
  },
};
