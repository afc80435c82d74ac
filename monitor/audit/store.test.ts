/**
 * The audit log on a real monitor, on both engines: entries appended over HTTP chain up; the append-only trigger
 * refuses UPDATE/DELETE; with the trigger dropped (someone with database rights), editing one row makes
 * `medmlops audit verify` — the real CLI, as a process — fail with exit 4 naming that entry.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MONITOR_ENGINES, startTestMonitor } from "../../test/support/monitor.ts";
import { EXIT } from "../../common/exit-codes.ts";
import { MonitorError } from "../client.ts";
import type { StartedMonitor } from "../testing/index.ts";

const BIN = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));

/** The real CLI as a child process (async: the monitor under test answers from this process's event loop). */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, "audit", ...args],
      { encoding: "utf8", timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.each(MONITOR_ENGINES)("audit log on %s", (engine) => {
  let m: StartedMonitor;
  let clock = Date.parse("2026-12-04T10:00:00Z");
  const dir = mkdtempSync(join(tmpdir(), "medmlops-audit-"));
  beforeAll(async () => {
    const tick = () => {
      clock += 60_000;
      return new Date(clock);
    };
    m = await startTestMonitor(engine, { now: tick });
  }, 120_000);
  afterAll(async () => {
    await m?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const subject = { namespace: "radiology", kind: "MedModel", name: "cxr" };

  it("appends chained entries over HTTP and refuses bad or PHI-carrying ones", async () => {
    const actions = ["RolloutStep", "Promotion", "Failover", "Suspend", "Resume"] as const;
    const out = [];
    for (const action of actions) {
      out.push(
        await m.client.appendAudit({
          action,
          subject,
          actor: "medmlops-operator",
          reason: `${action} test`,
          details: { to: "v2" },
        }),
      );
    }
    expect(out.map((o) => o.seq)).toEqual([1, 2, 3, 4, 5]);
    const all = [];
    for await (const e of m.client.listAudit()) all.push(e);
    expect(all[2]?.prevHash).toBe(out[1]?.hash);

    await expect(
      m.client.appendAudit({
        action: "Erasure",
        subject,
        actor: "op",
        details: { who: `pn:${"a".repeat(64)}` },
      }),
    ).rejects.toMatchObject({ status: 400, code: "PHI_IN_AUDIT" });
    await expect(
      m.client.appendAudit({ action: "Nope" as never, subject, actor: "op" }),
    ).rejects.toBeInstanceOf(MonitorError);
  });

  it("verify passes; export --since/--until writes that window as JSON lines that verify offline", async () => {
    const ok = await cli("verify", "--monitor-url", m.url);
    expect(ok.code).toBe(EXIT.ok);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 5 });

    const file = join(dir, "window.jsonl");
    // entries are stamped 10:01 … 10:05; [10:02, 10:04) holds seq 2 and 3
    const ex = await cli(
      "export",
      "--monitor-url",
      m.url,
      "--since",
      "2026-12-04T10:02:00Z",
      "--until",
      "2026-12-04T10:04:00Z",
      "--out",
      file,
    );
    expect(ex.code).toBe(EXIT.ok);
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([2, 3]);
    expect((await cli("verify", "--file", file)).code).toBe(EXIT.ok);
  });

  it("a keyed append is idempotent: the same key returns the stored entry, another subject is a 409", async () => {
    const keyed = {
      action: "Failover" as const,
      subject,
      actor: "medmlops-operator",
      reason: "v2 unavailable",
      details: { from: "v2", to: "v1" },
      key: "medmodel/uid-1/failover/1",
    };
    const first = await m.client.appendAudit(keyed);
    expect(first).toMatchObject({ seq: 6 });
    expect(first.duplicate).toBeUndefined();
    // a retry (lost answer, operator restart) — even with a re-worded reason — appends nothing
    const again = await m.client.appendAudit({ ...keyed, reason: "retried" });
    expect(again).toEqual({ seq: 6, hash: first.hash, duplicate: true });
    await expect(
      m.client.appendAudit({ ...keyed, subject: { ...subject, name: "other" } }),
    ).rejects.toMatchObject({ status: 409, code: "AUDIT_KEY_CONFLICT" });
    const all = [];
    for await (const e of m.client.listAudit()) all.push(e);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[5]?.key).toBe(keyed.key);
    // the key is hashed: verify recomputes it (and passes), unkeyed entries keep their old hashes
    const ok = await cli("verify", "--monitor-url", m.url);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 6 });
    await m.db.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    await m.db.query("UPDATE audit_log SET event_key = 'medmodel/uid-1/failover/9' WHERE seq = 6");
    expect(JSON.parse((await cli("verify", "--monitor-url", m.url)).stdout)).toMatchObject({
      brokenAt: 6,
      problem: "content-altered",
    });
    await m.db.query("UPDATE audit_log SET event_key = 'medmodel/uid-1/failover/1' WHERE seq = 6");
    await m.db.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
  });

  it("the trigger refuses UPDATE and DELETE", async () => {
    await expect(m.db.query("UPDATE audit_log SET reason = 'x' WHERE seq = 3")).rejects.toThrow(
      /append-only/,
    );
    await expect(m.db.query("DELETE FROM audit_log WHERE seq = 5")).rejects.toThrow(/append-only/);
  });

  it("editing one row (trigger dropped) makes verify exit 4 naming that entry", async () => {
    await m.db.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    await m.db.query('UPDATE audit_log SET details = \'{"to": "v9"}\'::jsonb WHERE seq = 3');
    const r = await cli("verify", "--monitor-url", m.url);
    expect(r.code).toBe(EXIT.integrity);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, brokenAt: 3, problem: "content-altered" });
    expect(r.stderr).toContain("entry 3");
    // a deleted row is named too
    await m.db.query('UPDATE audit_log SET details = \'{"to": "v2"}\'::jsonb WHERE seq = 3');
    expect((await cli("verify", "--monitor-url", m.url)).code).toBe(EXIT.ok);
    await m.db.query("DELETE FROM audit_log WHERE seq = 2");
    expect(JSON.parse((await cli("verify", "--monitor-url", m.url)).stdout)).toMatchObject({
      brokenAt: 3,
      problem: "sequence-gap",
    });
  });
});
