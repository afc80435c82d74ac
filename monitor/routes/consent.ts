import { z } from "zod";
import { erasePatient } from "../erase.ts";
import { ApiError, describeIssues, parseOr400 } from "../errors.ts";
import { Pseudonym, PutConsentSchema } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Params = z.object({ pseudonym: Pseudonym });

/**
 * Consent per patient pseudonym (the ConsentRecord spec), pushed by the ConsentRecord controller:
 * PUT (store/replace) · GET · DELETE (lift) · POST …/erase (erase stored records → counts).
 * Errors never echo the pseudonym.
 */
export const consent: RouteModule = {
  name: "consent",
  register(app, ctx) {
    app.put("/v1/consent/:pseudonym", async (req) => {
      const { pseudonym } = parseOr400(Params, req.params, "INVALID_PSEUDONYM");
      const p = PutConsentSchema.safeParse(req.body);
      if (!p.success) throw new ApiError(400, "INVALID_CONSENT", describeIssues(p.error));
      if (p.data.subject.pseudonym !== pseudonym) {
        throw new ApiError(
          400,
          "PSEUDONYM_MISMATCH",
          "subject.pseudonym differs from the pseudonym in the path",
        );
      }
      const { rows } = await ctx.db.query<{ excluded: number; erased: number }>(
        `INSERT INTO consent (pseudonym, spec) VALUES ($1, $2::jsonb)
         ON CONFLICT (pseudonym) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()
         RETURNING excluded::float8 AS excluded, erased::float8 AS erased`,
        [pseudonym, JSON.stringify(p.data)],
      );
      return { pseudonym, excluded: rows[0]!.excluded, erased: rows[0]!.erased };
    });
    app.get("/v1/consent/:pseudonym", async (req) => {
      const { pseudonym } = parseOr400(Params, req.params, "INVALID_PSEUDONYM");
      const { rows } = await ctx.db.query<{ spec: unknown; excluded: number; erased: number }>(
        "SELECT spec, excluded::float8 AS excluded, erased::float8 AS erased FROM consent WHERE pseudonym = $1",
        [pseudonym],
      );
      if (!rows[0])
        throw new ApiError(404, "CONSENT_NOT_FOUND", "no consent decision stored for this pseudonym");
      return { pseudonym, excluded: rows[0].excluded, erased: rows[0].erased, spec: rows[0].spec };
    });
    app.delete("/v1/consent/:pseudonym", async (req, reply) => {
      const { pseudonym } = parseOr400(Params, req.params, "INVALID_PSEUDONYM");
      await ctx.db.query("DELETE FROM consent WHERE pseudonym = $1", [pseudonym]);
      return reply.code(204).send();
    });
    app.post("/v1/consent/:pseudonym/erase", async (req) => {
      const { pseudonym } = parseOr400(Params, req.params, "INVALID_PSEUDONYM");
      return ctx.db.transaction((tx) => erasePatient(tx, pseudonym));
    });
  },
};
