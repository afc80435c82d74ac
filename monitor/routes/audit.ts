/**
 * POST /v1/audit  → 201 { seq, hash }   (contract C4; 400 INVALID_AUDIT_ENTRY, 400 PHI_IN_AUDIT)
 *                    200 { seq, hash, duplicate: true } when `key` names a stored entry (nothing appended);
 *                    409 AUDIT_KEY_CONFLICT when that entry has another action or subject
 * GET  /v1/audit?since&until&afterSeq&limit → { entries, nextAfterSeq }   (export, in seq order)
 */
import { z } from "zod";
import { AuditInputSchema } from "../audit/entry.ts";
import { AuditKeyConflictError, appendAuditEntry, listAuditEntries } from "../audit/store.ts";
import { ApiError, describeIssues, parseOr400 } from "../errors.ts";
import type { RouteModule } from "./types.ts";

export const AUDIT_PAGE = 1000;

const Query = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE).default(AUDIT_PAGE),
});

export const audit: RouteModule = {
  name: "audit",
  register(app, ctx) {
    app.post("/v1/audit", async (req, reply) => {
      const parsed = AuditInputSchema.safeParse(req.body);
      if (!parsed.success) {
        const phi = parsed.error.issues.some(
          (i) => i.code === "custom" && (i.params as { code?: string } | undefined)?.code === "PHI_IN_AUDIT",
        );
        if (phi) throw new ApiError(400, "PHI_IN_AUDIT", "audit entries must not carry patient pseudonyms");
        throw new ApiError(400, "INVALID_AUDIT_ENTRY", describeIssues(parsed.error));
      }
      const entry = await appendAuditEntry(ctx.db, parsed.data, ctx.now()).catch((err: unknown) => {
        if (err instanceof AuditKeyConflictError) throw new ApiError(409, "AUDIT_KEY_CONFLICT", err.message);
        throw err;
      });
      if (entry.duplicate) return reply.code(200).send({ seq: entry.seq, hash: entry.hash, duplicate: true });
      return reply.code(201).send({ seq: entry.seq, hash: entry.hash });
    });

    app.get("/v1/audit", async (req) => {
      const q = parseOr400(Query, req.query, "INVALID_QUERY");
      const entries = await listAuditEntries(ctx.db, q);
      const last = entries.at(-1);
      return { entries, nextAfterSeq: entries.length === q.limit && last ? last.seq : null };
    });
  },
};
