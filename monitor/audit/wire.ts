/** HTTP shapes of the audit routes (zod only, for the client). */
import { z } from "zod";
import { AuditEntrySchema } from "./entry.ts";

/** `duplicate`: the entry's key was already stored; this is that entry, nothing was appended. */
export const AuditAppendedSchema = z.object({
  seq: z.number().int(),
  hash: z.string(),
  duplicate: z.boolean().optional(),
});
export const AuditPageSchema = z.object({
  entries: z.array(AuditEntrySchema),
  nextAfterSeq: z.number().int().nullable(),
});
