import { describe, expect, it } from "vitest";
import { type AuditEntry, AuditInputSchema, canonicalContent, GENESIS_HASH, nextEntry } from "./entry.ts";
import { describeBreak, verifyChain } from "./verify.ts";

const t0 = Date.parse("2026-12-04T10:00:00Z");

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    const input = AuditInputSchema.parse({
      action: i % 2 ? "Promotion" : "Failover",
      subject: { namespace: "radiology", kind: "MedModel", name: "cxr" },
      actor: "medmlops-operator",
      reason: `step ${i}`,
      details: { from: "v1", to: "v2", n: i },
    });
    out.push(nextEntry(out.at(-1), input, new Date(t0 + i * 1000)));
  }
  return out;
}

describe("audit hash chain", () => {
  it("links each entry to the previous one's hash, starting at the genesis hash", () => {
    const c = chain(3);
    expect(c.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(c[0]?.prevHash).toBe(GENESIS_HASH);
    expect(c[1]?.prevHash).toBe(c[0]?.hash);
    expect(c[2]?.prevHash).toBe(c[1]?.hash);
    expect(verifyChain(c)).toEqual({ ok: true, entries: 3, head: c[2]?.hash });
  });

  it("serialises canonically (RFC 8785): key order does not change the hash", () => {
    const [e] = chain(1);
    if (!e) throw new Error("no entry");
    const reordered = { ...e, details: { n: 0, to: "v2", from: "v1" } };
    expect(canonicalContent(reordered)).toBe(canonicalContent(e));
    expect(canonicalContent(e)).toBe(
      '{"action":"Failover","actor":"medmlops-operator","at":"2026-12-04T10:00:00.000Z","details":{"from":"v1","n":0,"to":"v2"},"prevHash":"' +
        GENESIS_HASH +
        '","reason":"step 0","seq":1,"subject":{"kind":"MedModel","name":"cxr","namespace":"radiology"}}',
    );
  });

  it.each([
    ["reason", (e: AuditEntry) => ({ ...e, reason: "edited" })],
    ["details", (e: AuditEntry) => ({ ...e, details: { ...e.details, to: "v9" } })],
    ["time", (e: AuditEntry) => ({ ...e, at: "2026-12-04T09:00:00.000Z" })],
    ["actor", (e: AuditEntry) => ({ ...e, actor: "someone-else" })],
  ])("names the entry whose %s was edited", (_field, edit) => {
    const c = chain(5);
    c[2] = edit(c[2] as AuditEntry);
    const r = verifyChain(c);
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toEqual({ seq: 3, problem: "content-altered" });
    expect(r.entries).toBe(3);
  });

  it("an edit with a recomputed hash breaks the next entry's link", () => {
    const c = chain(5);
    const edited = nextEntry(
      c[1],
      AuditInputSchema.parse({
        action: "Promotion",
        subject: { namespace: "radiology", kind: "MedModel", name: "cxr" },
        actor: "medmlops-operator",
        details: { forged: true },
      }),
      new Date(t0),
    );
    c[2] = edited;
    expect(verifyChain(c).firstBreak).toEqual({ seq: 4, problem: "link-broken" });
  });

  it("a deleted entry is a sequence gap; a partial export verifies from its own first entry", () => {
    const c = chain(5);
    const gap = [...c.slice(0, 2), ...c.slice(3)];
    expect(verifyChain(gap).firstBreak).toEqual({ seq: 4, problem: "sequence-gap" });
    expect(verifyChain(c.slice(2), null).ok).toBe(true);
    expect(verifyChain(c.slice(2)).ok).toBe(false);
    expect(describeBreak({ seq: 4, problem: "sequence-gap" })).toContain("entry 4");
  });

  it("refuses details carrying a patient pseudonym", () => {
    const r = AuditInputSchema.safeParse({
      action: "Erasure",
      subject: { namespace: "radiology", kind: "ConsentRecord", name: "c1" },
      actor: "op",
      details: { who: `pn:${"a".repeat(64)}` },
    });
    expect(r.success).toBe(false);
  });
});
