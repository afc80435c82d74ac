/**
 * End to end, all real: `medmlops sidecar` processes serve a real ONNX model (onnxruntime-node) on DICOM
 * instances and send their records to a real monitor (--monitor-url). Version v1 sees the reference
 * distribution, v2 the same phantoms with a +300 HU shift; evaluate reports drift on v2's input statistics and
 * none on v1's, and a batch of reader annotations yields the expected sensitivity with Wilson bounds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caseId } from "../inference-sidecar/case-id.ts";
import { ctPhantom, writeDicom } from "../inference-sidecar/testing/dicom.ts";
import { cnnCtSignature, writeModel } from "../inference-sidecar/testing/models.ts";
import { type StartedMonitor, startMonitor } from "./testing/index.ts";

const BIN = fileURLToPath(new URL("../bin/medmlops.js", import.meta.url));
const KEY = "e2e-case-id-key-0123456789abcdef";
const N = 60;
/** The CT phantoms score 0.1337–0.1353 on "nodule": an operating point inside that range decides both ways. */
const THRESHOLD = 0.1345;
const signature = {
  ...cnnCtSignature,
  outputs: [{ ...cnnCtSignature.outputs[0]!, operatingPoint: { label: "nodule", threshold: THRESHOLD } }],
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Wilson score interval, written out (z for 95 %), as an oracle independent of monitor/stats. */
function wilson95(k: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [centre - half, centre + half];
}

describe("sidecar → monitor, end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-e2e-"));
  const procs: ChildProcess[] = [];
  let m: StartedMonitor;

  async function sidecar(version: string): Promise<string> {
    const port = await freePort();
    const args = [
      BIN,
      "sidecar",
      ...["--model", join(dir, "cnn.onnx"), "--name", "chest", "--version", version],
      ...["--signature", join(dir, "signature.json"), "--port", String(port), "--host", "127.0.0.1"],
      ...["--metrics-port", "0"],
      ...["--monitor-url", m.url, "--monitor-batch", "10", "--monitor-namespace", "radiology", "--site", "a"],
      ...["--warmup-runs", "0", "--log-level", "warn"],
    ];
    const p = spawn(process.execPath, args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, MEDMLOPS_CASE_ID_KEY: KEY, MEDMLOPS_CASE_ID_KEY_FILE: "" },
    });
    procs.push(p);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`sidecar ${version} ready`, async () =>
      (await fetch(`${url}/v2/health/ready`)).ok ? true : undefined,
    );
    return url;
  }

  /** Sends N phantoms; returns each case id with the model's decision on the nodule label. */
  async function send(
    url: string,
    version: string,
    interceptShift: number,
  ): Promise<{ id: string; positive: boolean }[]> {
    const out: { id: string; positive: boolean }[] = [];
    for (let i = 0; i < N; i++) {
      const uid = `2.25.${version === "v1" ? 1 : 2}${String(i).padStart(6, "0")}`;
      const body = writeDicom({
        rows: 16,
        columns: 16,
        pixels: ctPhantom(16, 16, i + 1),
        studyInstanceUid: uid,
        rescaleIntercept: -1024 + interceptShift,
        noPatientId: true,
        extra: { Manufacturer: "GE", KVP: "120" },
      });
      const r = await fetch(`${url}/v2/models/chest/infer`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body,
      });
      expect(r.status).toBe(200);
      const answer = (await r.json()) as { outputs: { name: string; data: number[] }[] };
      const probs = answer.outputs.find((o) => o.name === "logits")!.data;
      out.push({
        id: caseId({ key: Buffer.from(KEY), persistent: true }, uid),
        positive: probs[1]! >= THRESHOLD,
      });
    }
    return out;
  }

  beforeAll(async () => {
    writeModel(dir, "cnn");
    writeFileSync(join(dir, "signature.json"), JSON.stringify(signature));
    m = await startMonitor();
  }, 180_000);
  afterAll(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await m?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports the shifted version's inputs as drift and turns annotations into sensitivity with Wilson bounds", async () => {
    await m.client.putPolicy("radiology", "chest-policy", {
      model: "chest",
      spec: {
        modelRef: { name: "chest" },
        sampling: { rate: 1, strategy: "Random", minPerWindow: 0 },
        metrics: [{ name: "sensitivity", min: 0.2, minSamples: 10 }],
        drift: {
          window: { duration: "1d" },
          checks: [
            { source: "input", feature: "image:mean", test: "ks", pValue: 0.01 },
            { source: "input", feature: "image:mean", test: "psi", threshold: 0.2 },
          ],
        },
      } as never,
    });
    const [v1, v2] = await Promise.all([sidecar("v1"), sidecar("v2")]);
    const v1Cases = await send(v1, "v1", 0);
    await send(v2, "v2", 300);
    const stored = async (v: string) =>
      (await m.db.query<{ n: number }>("SELECT count(*)::int AS n FROM records WHERE version = $1", [v]))
        .rows[0]!.n;
    await waitFor("all records at the monitor", async () =>
      (await stored("v1")) === N && (await stored("v2")) === N ? true : undefined,
    );
    // what reached the monitor is what the sidecar computed: features, decision, non-PHI metadata, site
    const { rows } = await m.db.query<{
      inputs: Record<string, number>;
      metadata: Record<string, unknown>;
      site: string;
      patient: string | null;
    }>("SELECT inputs, metadata, site, patient FROM records WHERE version = 'v1' LIMIT 1");
    expect(Object.keys(rows[0]!.inputs)).toEqual(
      expect.arrayContaining(["image:mean", "image:std", "image:p50"]),
    );
    expect(rows[0]!.metadata).toMatchObject({ Manufacturer: "GE", KVP: 120 });
    expect(rows[0]!.site).toBe("a");
    expect(rows[0]!.patient).toBeNull();

    // v1's first N records are the reference of both versions
    await m.client.putReference("radiology", "chest", "v1", { firstRecords: N });
    const doc = (await fetch(`${m.url}/v1/references/radiology/chest/v1`).then((r) => r.json())) as Record<
      string,
      unknown
    >;
    await m.client.putReference("radiology", "chest", "v2", doc);

    // annotations: every decided-positive case is a true positive; every third decided-negative one was missed
    const truth = v1Cases.map((c, i) => ({ ...c, truth: c.positive || i % 3 === 0 }));
    const ann = await m.client.postAnnotations(
      truth.map((c) => ({
        namespace: "radiology",
        model: "chest",
        caseId: c.id,
        positive: c.truth,
        time: new Date().toISOString(),
        source: "reader" as const,
      })),
    );
    expect(ann).toEqual({ accepted: N, rejected: [] });

    const e = await m.client.evaluatePolicy("radiology", "chest-policy", { versions: ["v1", "v2"] });
    const drift = (v: string, test: string) => e.drift.find((d) => d.version === v && d.test === test)!;
    expect(drift("v1", "ks").drifted).toBe(false);
    expect(drift("v1", "psi").drifted).toBe(false);
    expect(drift("v2", "ks").drifted).toBe(true);
    expect(drift("v2", "psi").drifted).toBe(true);

    const pos = truth.filter((c) => c.truth);
    const tp = pos.filter((c) => c.positive).length;
    expect(tp).toBeGreaterThan(0); // the model decides both ways on these phantoms: a sensitivity strictly inside (0, 1)
    expect(tp).toBeLessThan(pos.length);
    const [lo, hi] = wilson95(tp, pos.length);
    const row = e.results.find((r) => r.version === "v1")!.metrics.find((r) => r.metric === "sensitivity")!;
    expect(row.n).toBe(pos.length);
    expect(row.value).toBeCloseTo(tp / pos.length, 12);
    expect(row.ciLow).toBeCloseTo(lo, 9);
    expect(row.ciHigh).toBeCloseTo(hi, 9);
    expect(row.pass).toBe(lo >= 0.2);
    // the annotated cases left the worklist; v2's (unannotated, all sampled at rate 1) are on it
    const wl = await m.client.worklist({ namespace: "radiology", model: "chest", limit: 1000 });
    expect(wl.cases.length).toBe(N);
    expect(new Set(wl.cases.map((c) => c.version))).toEqual(new Set(["v2"]));
  }, 300_000);
});
