/**
 * The CLI commands that call the monitor — `dataset materialize`, `evaluate`, `audit verify|export` — against a
 * real monitor serving HTTPS with a bearer token (as the chart serves it, plus a credential), as real processes:
 * with --monitor-ca and --monitor-token-file (or the same from the environment) they get through, the DICOM
 * downloads of materialize included; without the CA they cannot verify the monitor, without the token they are
 * refused (exit 1); half a client pair is a usage error (exit 2). Every --help names the flags.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securedFetch } from "../common/tls/client.ts";
import { ctPhantom, writeDicom } from "../inference-sidecar/testing/dicom.ts";
import { putKeptCase } from "../monitor/datasets/binary.ts";
import { type StartedMonitor, startMonitor } from "../monitor/testing/index.ts";
import { makePki, type Pki } from "../test/support/certs.ts";
import { pseudonym, seedLedger } from "./testing/ledger.ts";
import { linearModel } from "./testing/linear-model.ts";

const BIN = fileURLToPath(new URL("../bin/medmlops.js", import.meta.url));

function medmlops(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        encoding: "utf8",
        timeout: 120_000,
        env: {
          ...process.env,
          MEDMLOPS_MONITOR_CA: "",
          MEDMLOPS_MONITOR_TOKEN_FILE: "",
          MEDMLOPS_MONITOR_URL: "",
          ...env,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("CLI commands against an HTTPS monitor that requires a token", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-cli-tls-"));
  const token = join(dir, "token");
  const keyFile = join(dir, "hmac-key");
  let pki: Pki;
  let m: StartedMonitor;
  let creds: string[];

  beforeAll(async () => {
    pki = makePki();
    const server = pki.issue("monitor", { server: true });
    writeFileSync(token, "cli-bearer-token-0123456789\n");
    writeFileSync(keyFile, "k".repeat(48));
    creds = ["--monitor-ca", pki.caCert, "--monitor-token-file", token];
    m = await startMonitor({
      security: {
        tls: { certFile: server.cert, keyFile: server.key },
        clientAuth: "token",
        tokenFile: token,
      },
      clientTls: { caFile: pki.caCert, tokenFile: token },
    });
    expect(m.url).toMatch(/^https:/);
    await seedLedger(m.db, { namespace: "rad", model: "cxr", patients: 40, at: "2026-07-01T00:00:00Z" });
    await m.client.freezeDataset("ds-1", {
      namespace: "rad",
      model: "cxr",
      job: "job-1",
      startedAt: "2026-12-01T00:00:00Z",
      dataset: { since: "2026-06-01T00:00:00Z", historicalFraction: 0.1, sequesteredTestFraction: 0.3 },
    });
    const first = (await m.client.getDatasetCases("ds-1", "train")).cases[0]!.caseId;
    await putKeptCase(
      m.url,
      { namespace: "rad", model: "cxr", caseId: first, patient: pseudonym(0) },
      writeDicom({ rows: 16, columns: 16, pixels: ctPhantom(16, 16) }),
      securedFetch({ caFile: pki.caCert, tokenFile: token }),
    );
  }, 120_000);
  afterAll(async () => {
    await m?.stop();
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const materialize = (out: string, split: "train" | "test", extra: string[], env?: NodeJS.ProcessEnv) =>
    medmlops(
      [
        ...["dataset", "materialize", "--monitor-url", m.url, "--dataset", "ds-1", "--split", split],
        ...["--out", out, "--key-file", keyFile, ...extra],
      ],
      env,
    );

  it("dataset materialize: the cases and the kept DICOM over TLS with the token; refused without CA or token", async () => {
    const out = join(dir, "train");
    const ok = await materialize(out, "train", creds);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(join(out, "images"))).toHaveLength(1);
    const fromEnv = await materialize(join(dir, "train-env"), "train", [], {
      MEDMLOPS_MONITOR_CA: pki.caCert,
      MEDMLOPS_MONITOR_TOKEN_FILE: token,
    });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const noCa = await materialize(join(dir, "x1"), "train", ["--monitor-token-file", token]);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toMatch(/unreachable/);
    const noToken = await materialize(join(dir, "x2"), "train", ["--monitor-ca", pki.caCert]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/bearer token/);
    const half = await materialize(join(dir, "x3"), "train", ["--monitor-cert", pki.caCert]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--monitor-cert and --monitor-key go together/);
  }, 120_000);

  it("evaluate: sends its report over TLS with the token; refused without the token", async () => {
    const test = join(dir, "test");
    expect((await materialize(test, "test", creds)).code).toBe(0);
    const model = join(dir, "model.onnx");
    writeFileSync(model, linearModel([1, 0.5], 0));
    const evaluate = (extra: string[]) =>
      medmlops([
        ...["evaluate", "--data", test, "--candidate", model, "--base", model],
        ...["--monitor-url", m.url, "--dataset", "ds-1", ...extra],
      ]);
    const refused = await evaluate(["--monitor-ca", pki.caCert]);
    expect(refused.code).toBe(1);
    expect(await m.client.getEvaluation("ds-1")).toBeUndefined();
    const ok = await evaluate(creds);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await m.client.getEvaluation("ds-1"))?.rows.length).toBeGreaterThan(0);
    const noUrl = await medmlops([
      ...["evaluate", "--data", test, "--candidate", model, "--base", model],
      ...["--out", join(dir, "r.json"), "--monitor-ca", pki.caCert],
    ]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/need --monitor-url/);
  }, 120_000);

  it("audit verify and export: through with the CA and token, exit 1 without the CA", async () => {
    await m.client.appendAudit({
      action: "Promotion",
      subject: { namespace: "rad", kind: "MedModel", name: "cxr" },
      actor: "operator",
    });
    const verify = await medmlops(["audit", "verify", "--monitor-url", m.url, ...creds]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: 1 });
    const out = join(dir, "audit.jsonl");
    const exp = await medmlops(["audit", "export", "--monitor-url", m.url, "--out", out], {
      MEDMLOPS_MONITOR_CA: pki.caCert,
      MEDMLOPS_MONITOR_TOKEN_FILE: token,
    });
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr).toMatch(/exported 1 entries/);
    const noCa = await medmlops(["audit", "verify", "--monitor-url", m.url, "--monitor-token-file", token]);
    expect(noCa.code).toBe(1);
    const half = await medmlops(["audit", "export", "--monitor-url", m.url, "--monitor-key", token]);
    expect(half.code).toBe(2);
  }, 120_000);

  it("every --help names the client flags", async () => {
    for (const args of [
      ["audit", "--help"],
      ["dataset", "materialize", "--help"],
      ["evaluate", "--help"],
    ]) {
      const r = await medmlops(args);
      expect(r.code).toBe(0);
      for (const flag of ["--monitor-ca", "--monitor-cert", "--monitor-key", "--monitor-token-file"])
        expect(r.stdout, `${args.join(" ")}: ${flag}`).toContain(flag);
    }
  });
});
