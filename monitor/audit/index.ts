export {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEntry,
  AuditEntrySchema,
  type AuditInput,
  AuditInputSchema,
  GENESIS_HASH,
} from "./entry.ts";
export { appendAuditEntry, listAuditEntries } from "./store.ts";
export { type ChainBreak, describeBreak, type VerifyResult, verifyChain } from "./verify.ts";
