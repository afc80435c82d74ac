/** HTTP shapes of the audit routes (zod only, for the client). */
import { z } from "zod";
import { AuditEntrySchema } from "./entry.ts";

export const AuditAppendedSchema = z.object({ seq: z.number().int(), hash: z.string() });
export const AuditPageSchema = z.object({
  entries: z.array(AuditEntrySchema),
  nextAfterSeq: z.number().int().nullable(),
});
