/**
 * POST /v1/audit  → 201 { seq, hash }   (contract C4; 400 INVALID_AUDIT_ENTRY, 400 PHI_IN_AUDIT)
 * GET  /v1/audit?since&until&afterSeq&limit → { entries, nextAfterSeq }   (export, in seq order)
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { SqlDb } from "../audit/db.ts";
import { AuditInputSchema } from "../audit/entry.ts";
import { appendAuditEntry, listAuditEntries } from "../audit/store.ts";

const PAGE = 1000;

const Query = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(PAGE).default(PAGE),
});

export interface AuditRouteDeps {
  db: SqlDb;
  now: () => Date;
}

export function registerAuditRoutes(app: FastifyInstance, deps: AuditRouteDeps): void {
  app.post("/v1/audit", async (req, reply) => {
    const parsed = AuditInputSchema.safeParse(req.body);
    if (!parsed.success) {
      const phi = parsed.error.issues.some(
        (i) => i.code === "custom" && (i.params as { code?: string } | undefined)?.code === "PHI_IN_AUDIT",
      );
      return reply.code(400).send(
        phi
          ? { error: "audit entries must not carry patient pseudonyms", code: "PHI_IN_AUDIT" }
          : {
              error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
              code: "INVALID_AUDIT_ENTRY",
            },
      );
    }
    const entry = await appendAuditEntry(deps.db, parsed.data, deps.now());
    return reply.code(201).send({ seq: entry.seq, hash: entry.hash });
  });

  app.get("/v1/audit", async (req, reply) => {
    const q = Query.safeParse(req.query);
    if (!q.success) {
      return reply.code(400).send({
        error: q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
        code: "INVALID_QUERY",
      });
    }
    const entries = await listAuditEntries(deps.db, q.data);
    const last = entries.at(-1);
    return { entries, nextAfterSeq: entries.length === q.data.limit && last ? last.seq : null };
  });
}
