import { type AuditEntry, GENESIS_HASH, hashContent } from "./entry.ts";

export type ChainBreak =
  /** The entry's content no longer hashes to its stored hash: the row was edited. */
  | { seq: number; problem: "content-altered" }
  /** The entry's prevHash is not the previous entry's hash: an entry was removed, inserted or re-hashed. */
  | { seq: number; problem: "link-broken" }
  /** A sequence number is missing or repeated: an entry was deleted or duplicated. */
  | { seq: number; problem: "sequence-gap" };

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** The last verified hash (the chain head), for anchoring elsewhere. */
  head: string | null;
  firstBreak?: ChainBreak;
}

/**
 * Recomputes the chain over entries in seq order. `anchor` is the hash expected before the first entry: the
 * genesis hash for a full log; for a partial export (`--since`) pass `null` to accept the first entry's
 * prevHash as given (its own content is still checked). Pure.
 * `null` anchor: a partial export, whose first entry links to an entry outside it.
 */
export function verifyChain(
  entries: Iterable<AuditEntry>,
  anchor: string | null = GENESIS_HASH,
): VerifyResult {
  let expectedPrev: string | undefined = anchor ?? undefined;
  let expectedSeq: number | undefined = anchor === GENESIS_HASH ? 1 : undefined;
  let count = 0;
  let head: string | null = null;
  for (const e of entries) {
    count++;
    if (expectedSeq !== undefined && e.seq !== expectedSeq) {
      return { ok: false, entries: count, head, firstBreak: { seq: e.seq, problem: "sequence-gap" } };
    }
    if (hashContent(e) !== e.hash) {
      return { ok: false, entries: count, head, firstBreak: { seq: e.seq, problem: "content-altered" } };
    }
    if (expectedPrev !== undefined && e.prevHash !== expectedPrev) {
      return { ok: false, entries: count, head, firstBreak: { seq: e.seq, problem: "link-broken" } };
    }
    expectedPrev = e.hash;
    expectedSeq = e.seq + 1;
    head = e.hash;
  }
  return { ok: true, entries: count, head };
}

export function describeBreak(b: ChainBreak): string {
  switch (b.problem) {
    case "content-altered":
      return `entry ${b.seq} was altered: its content no longer matches its hash`;
    case "link-broken":
      return `entry ${b.seq} does not link to the entry before it (an entry was removed, inserted or re-hashed)`;
    case "sequence-gap":
      return `entry ${b.seq} is out of sequence (an entry before it was deleted or duplicated)`;
  }
}
