import { z } from "zod";
import { parseOr400 } from "../errors.ts";
import { Namespace, ObjectName } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Query = z.object({
  namespace: Namespace,
  model: ObjectName,
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

/**
 * GET /v1/worklist?namespace=&model=&limit= — sampled, not yet annotated cases, oldest first, for the
 * radiologists' annotation tool. Case ids only: no patient pseudonym, no features.
 */
export const worklist: RouteModule = {
  name: "worklist",
  register(app, ctx) {
    app.get("/v1/worklist", async (req) => {
      const q = parseOr400(Query, req.query, "INVALID_QUERY");
      const { rows } = await ctx.db.query<{ case_id: string; version: string; time: Date; pi: number }>(
        `SELECT case_id, version, time, inclusion_prob AS pi FROM records
         WHERE namespace = $1 AND model = $2 AND sampled AND NOT annotated
         ORDER BY time, id LIMIT $3`,
        [q.namespace, q.model, q.limit],
      );
      return {
        cases: rows.map((r) => ({
          caseId: r.case_id,
          version: r.version,
          time: new Date(r.time).toISOString(),
          inclusionProbability: r.pi,
        })),
      };
    });
  },
};
