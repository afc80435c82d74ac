/**
 * Datasets on a real monitor (PGlite and PostgreSQL) and the two Job commands as real processes on real files:
 * freeze excludes denied patients and splits by patient; `medmlops dataset materialize` de-identifies kept DICOM
 * again and fails closed; a tiny real trainer writes an ONNX model; `medmlops evaluate` runs candidate and base
 * with onnxruntime and stores its report on the monitor.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_PATIENT, ctPhantom, writeDicom } from "../inference-sidecar/testing/dicom.ts";
import { putKeptCase } from "../monitor/datasets/binary.ts";
import type { StartedMonitor } from "../monitor/testing/index.ts";
import { MONITOR_ENGINES, startTestMonitor } from "../test/support/monitor.ts";
import { denyAll, pseudonym, seedLedger } from "./testing/ledger.ts";
import { linearModel } from "./testing/linear-model.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/medmlops.js");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const KEY = "k".repeat(48);

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const medmlops = (args: string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [BIN, ...args], env);

describe.each(MONITOR_ENGINES)("retraining data on %s", (engine) => {
  let m: StartedMonitor;
  const dir = mkdtempSync(join(tmpdir(), "medmlops-retrain-"));
  const keyFile = join(dir, "hmac-key");
  const ns = "radiology";
  const request = (job: string, extra: Record<string, unknown> = {}) => ({
    namespace: ns,
    model: "cxr",
    job,
    startedAt: "2026-12-01T00:00:00Z",
    dataset: {
      since: "2026-06-01T00:00:00Z",
      historicalFraction: 0.1,
      sequesteredTestFraction: 0.3,
      ...extra,
    },
  });

  beforeAll(async () => {
    writeFileSync(keyFile, KEY);
    m = await startTestMonitor(engine);
    await seedLedger(m.db, { namespace: ns, model: "cxr", patients: 60, at: "2026-07-01T00:00:00Z" });
    await denyAll(m.db, pseudonym(3));
  }, 120_000);
  afterAll(async () => {
    await m?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("freezes once: consent-denied patients excluded, patient-disjoint split, same manifest on repeat, 409 on change", async () => {
    const d = await m.client.freezeDataset("uid-1", request("job-1"));
    expect(d.excludedByConsent).toBe(2);
    expect(d.cases).toBeGreaterThan(d.testCases);
    expect(d.testCases).toBeGreaterThan(0);
    expect(d.historical).toBeGreaterThan(0);
    expect(d.sites).toEqual(["site-a", "site-b"]);
    const { rows } = await m.db.query<{ patient: string; sides: number }>(
      "SELECT patient, count(DISTINCT split)::int AS sides FROM dataset_cases WHERE dataset_id = 'uid-1' GROUP BY patient",
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((r) => r.sides === 1)).toBe(true);
    expect(rows.some((r) => r.patient === pseudonym(3))).toBe(false);

    expect((await m.client.freezeDataset("uid-1", request("job-1"))).manifestSha256).toBe(d.manifestSha256);
    await expect(
      m.client.freezeDataset("uid-1", request("job-1", { sequesteredTestFraction: 0.2 })),
    ).rejects.toMatchObject({
      status: 409,
      code: "DATASET_IMMUTABLE",
    });
    const tainted = await m.client.datasetsContaining(pseudonym(5));
    expect(tainted).toEqual([{ id: "uid-1", namespace: ns, job: "job-1" }]);
    expect(await m.client.datasetsContaining(pseudonym(3))).toEqual([]);
  });

  it("materialize writes the split, de-identifies kept DICOM again, and fails closed on a bad instance", async () => {
    const cases = await m.client.getDatasetCases("uid-1", "train");
    const first = cases.cases[0]?.caseId as string;
    const dicom = writeDicom({ rows: 16, columns: 16, pixels: ctPhantom(16, 16) });
    expect(Buffer.from(dicom).includes(Buffer.from(FAKE_PATIENT.PatientName))).toBe(true);
    await putKeptCase(m.url, { namespace: ns, model: "cxr", caseId: first, patient: pseudonym(0) }, dicom);

    const out = join(dir, "train");
    const r = await medmlops([
      "dataset",
      "materialize",
      "--monitor-url",
      m.url,
      "--dataset",
      "uid-1",
      "--split",
      "train",
      "--out",
      out,
      "--key-file",
      keyFile,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const meta = JSON.parse(readFileSync(join(out, "dataset.json"), "utf8"));
    expect(meta).toMatchObject({
      split: "train",
      cases: cases.cases.length,
      features: ["image:f1", "image:f2"],
    });
    const images = readdirSync(join(out, "images"));
    expect(images).toHaveLength(1);
    const written = readFileSync(join(out, "images", images[0] as string));
    expect(written.includes(Buffer.from(FAKE_PATIENT.PatientName))).toBe(false);
    expect(written.includes(Buffer.from(FAKE_PATIENT.PatientID))).toBe(false);

    // a kept instance that is not DICOM: the whole split fails, nothing is left behind
    await putKeptCase(
      m.url,
      { namespace: ns, model: "cxr", caseId: cases.cases[1]?.caseId as string },
      new Uint8Array([1, 2, 3, 4]),
    );
    const bad = await medmlops([
      "dataset",
      "materialize",
      "--monitor-url",
      m.url,
      "--dataset",
      "uid-1",
      "--split",
      "train",
      "--out",
      out,
      "--key-file",
      keyFile,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("could not be de-identified");
    expect(readdirSync(out)).toEqual([]);
    expect(await m.client.eraseKeptCases(pseudonym(0))).toBe(1);
  });

  it("a tiny real trainer learns a model; evaluate compares it with a base per site and stores the report", async () => {
    await m.db.query("DELETE FROM kept_cases");
    const train = join(dir, "train2");
    const test = join(dir, "test2");
    for (const [split, out] of [
      ["train", train],
      ["test", test],
    ] as const) {
      const r = await medmlops([
        "dataset",
        "materialize",
        "--monitor-url",
        m.url,
        "--dataset",
        "uid-1",
        "--split",
        split,
        "--out",
        out,
        "--key-file",
        keyFile,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const output = join(dir, "output");
    const term = join(dir, "termination-log");
    const t = await run(TSX, [join(ROOT, "retrain/testing/tiny-trainer.ts")], {
      MEDMLOPS_DATA_DIR: train,
      MEDMLOPS_OUTPUT_DIR: output,
      MEDMLOPS_TERMINATION_LOG: term,
    });
    expect(t.code, t.stderr).toBe(0);
    const result = JSON.parse(readFileSync(term, "utf8"));
    expect(result.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(existsSync(join(output, "model.onnx"))).toBe(true);

    // the base: a weak model that barely uses the informative feature
    const basePath = join(dir, "base.onnx");
    writeFileSync(basePath, linearModel([0.2, 1], 0));
    const e = await medmlops([
      "evaluate",
      "--data",
      test,
      "--candidate",
      join(output, "model.onnx"),
      "--base",
      basePath,
      "--monitor-url",
      m.url,
      "--dataset",
      "uid-1",
      "--out",
      join(dir, "report.json"),
    ]);
    expect(e.code, e.stderr).toBe(0);
    const report = await m.client.getEvaluation("uid-1");
    expect(report?.candidateSha256).toBe(result.sha256);
    const sens = report?.rows.find((r) => r.site === "*" && r.metric === "accuracy");
    expect(sens?.candidate.value).toBeGreaterThan(0.8);
    expect(sens?.candidate.value).toBeGreaterThan(sens?.base.value as number);
    expect(sens?.candidate.ciLow).toBeLessThan(sens?.candidate.value as number);
    expect(new Set(report?.rows.map((r) => r.site))).toEqual(new Set(["*", "site-a", "site-b"]));
  });
});
