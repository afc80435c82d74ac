/**
 * The sidecar's monitor records against a tiny real HTTP receiver on loopback: records arrive with the monitor's
 * Record shape (checked with the monitor's own parser), carry no PHI, drops are counted oldest-first when the
 * receiver is down, and an inference never waits for the monitor.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keyFromSecret, patientPseudonym } from "../deid/index.ts";
import { ALLOWED_METADATA, parseRecord } from "../monitor/wire.ts";
import { deidGate } from "./deid-gate.ts";
import { MonitorEmitter } from "./monitor-emitter.ts";
import type { SidecarMonitor } from "./server.ts";
import { Signature } from "./signature.ts";
import { ctPhantom, FAKE_PATIENT, writeDicom } from "./testing/dicom.ts";
import { type Harness, randomFloats, startHarness } from "./testing/harness.ts";
import { cnnCtSignature } from "./testing/models.ts";

type Mode = "ok" | "unavailable" | "refuse" | "hang" | "unauthenticated";

/** A loopback receiver for POST /v1/records that answers like the monitor (or fails as told). */
class Receiver {
  records: Record<string, unknown>[] = [];
  bodies: string[] = [];
  mode: Mode = "ok";
  hanging: ServerResponse[] = [];
  server: Server;
  url = "";
  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (this.mode === "hang") {
          this.hanging.push(res);
          return;
        }
        if (this.mode === "unavailable") {
          res
            .writeHead(503, { "content-type": "application/json" })
            .end('{"error":"down","code":"UNAVAILABLE"}');
          return;
        }
        if (this.mode === "unauthenticated") {
          res
            .writeHead(401, { "content-type": "application/json" })
            .end('{"error":"a valid bearer token is required","code":"INVALID_TOKEN"}');
          return;
        }
        if (this.mode === "refuse") {
          res
            .writeHead(400, { "content-type": "application/json" })
            .end('{"error":"bad","code":"INVALID_BODY"}');
          return;
        }
        const text = Buffer.concat(chunks).toString("utf8");
        this.bodies.push(text);
        const { records } = JSON.parse(text) as { records: Record<string, unknown>[] };
        this.records.push(...records);
        res
          .writeHead(202, { "content-type": "application/json" })
          .end(JSON.stringify({ accepted: records.length, excluded: 0, rejected: [] }));
      });
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const signature = Signature.parse(cnnCtSignature);
const key = keyFromSecret("monitor-test-deid-key-0123456789abcdef");
const STUDY = "2.25.99887766554433221100";

function monitorFor(
  url: string,
  registry: Registry,
  opts: { capacity?: number; batch?: number } = {},
): SidecarMonitor {
  return {
    emitter: new MonitorEmitter({
      url,
      batch: opts.batch ?? 5,
      capacity: opts.capacity ?? 100,
      flushMs: 20,
      timeoutMs: 1000,
      logger: pino({ level: "silent" }),
      registry,
      labels: { model: "cnn", version: "1" },
    }),
    namespace: "radiology",
    site: "site-a",
    pseudonymKey: key,
  };
}

async function jsonInfer(h: Harness): Promise<{ status: number; id: string; ms: number }> {
  const started = performance.now();
  const res = await h.sidecar.app.inject({
    method: "POST",
    url: "/v2/models/cnn/infer",
    payload: {
      inputs: [
        { name: "image", shape: [1, 1, 16, 16], datatype: "FP32", data: Array.from(randomFloats(256, 3)) },
      ],
    },
  });
  return { status: res.statusCode, id: (res.json() as { id: string }).id, ms: performance.now() - started };
}

async function dicomInfer(h: Harness, extra: Record<string, unknown>, noPatientId = false) {
  const bytes = writeDicom({
    rows: 32,
    columns: 32,
    pixels: ctPhantom(32, 32),
    studyInstanceUid: STUDY,
    extra,
    noPatientId,
  });
  return h.sidecar.app.inject({
    method: "POST",
    url: "/v2/models/cnn/infer",
    headers: { "content-type": "application/dicom" },
    payload: Buffer.from(bytes),
  });
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

describe("sidecar → monitor records", () => {
  const receiver = new Receiver();
  let h: Harness;
  let registry: Registry;
  let monitor: SidecarMonitor;

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });
  afterEach(async () => {
    receiver.mode = "ok";
    for (const res of receiver.hanging.splice(0)) res.destroy();
    await h?.close();
    receiver.records = [];
    receiver.bodies = [];
  });

  async function start(opts: { capacity?: number; batch?: number; url?: string } = {}) {
    registry = new Registry();
    monitor = monitorFor(opts.url ?? receiver.url, registry, opts);
    h = await startHarness("cnn", { modelName: "cnn", signature, monitor, registry });
  }

  it("sends one record per answered request, in the monitor's Record shape", async () => {
    await start();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await jsonInfer(h);
      expect(r.status).toBe(200);
      ids.push(r.id);
    }
    // a refused request (wrong shape) is not answered, so it has no record
    const bad = await h.sidecar.app.inject({
      method: "POST",
      url: "/v2/models/cnn/infer",
      payload: { inputs: [{ name: "image", shape: [1, 2], datatype: "FP32", data: [1, 2] }] },
    });
    expect(bad.statusCode).toBe(400);
    await monitor.emitter.flush();
    await monitor.emitter.drained();
    expect(receiver.records).toHaveLength(7);
    expect(receiver.records.map((r) => r.caseId)).toEqual(ids);
    for (const r of receiver.records) {
      const parsed = parseRecord(r);
      expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
      expect(r).toMatchObject({ namespace: "radiology", model: "cnn", version: "1", site: "site-a" });
      expect(Object.keys(r.inputs as object).sort()).toEqual(
        ["image:mean", "image:p5", "image:p50", "image:p95", "image:std"].sort(),
      );
      expect(Object.keys(r.outputs as object).sort()).toEqual(["score:mass", "score:nodule", "score:normal"]);
      const scores = Object.values(r.outputs as Record<string, number>);
      expect(scores.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
      expect(r.decision).toMatchObject({ label: "nodule" });
      expect(r.patient).toBeUndefined();
      const inputs = r.inputs as Record<string, number>;
      expect(inputs["image:p5"]!).toBeLessThanOrEqual(inputs["image:p50"]!);
      expect(inputs["image:p50"]!).toBeLessThanOrEqual(inputs["image:p95"]!);
    }
  });

  it("never puts a tensor request's own id in the record: a client may send an accession number there", async () => {
    await start();
    const accession = "ACC-2026-000123";
    const res = await h.sidecar.app.inject({
      method: "POST",
      url: "/v2/models/cnn/infer",
      // also as the request-id headers a gateway might add: the sidecar takes its request id from neither
      headers: { "request-id": accession, "x-request-id": accession },
      payload: {
        id: accession,
        inputs: [
          { name: "image", shape: [1, 1, 16, 16], datatype: "FP32", data: Array.from(randomFloats(256, 5)) },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    // OIP v2: the response echoes the client's id to the client...
    expect((res.json() as { id: string }).id).toBe(accession);
    await monitor.emitter.flush();
    await monitor.emitter.drained();
    expect(receiver.records).toHaveLength(1);
    // ...but the record's case id is the sidecar's own request id (a random UUID), and the id is nowhere in it.
    expect(receiver.records[0]!.caseId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(receiver.bodies.join("\n")).not.toContain(accession);
  });

  it("carries non-PHI DICOM metadata and the patient pseudonym, and nothing identifying", async () => {
    await start();
    const extra = {
      Manufacturer: "ACME Medical",
      ManufacturerModelName: "Scan 3000",
      KVP: "120",
      SliceThickness: "2.5",
      PatientBirthDate: "19700101",
      StudyDescription: "CT CHEST free text about the patient",
      InstitutionName: "St Example Hospital",
    };
    expect((await dicomInfer(h, extra)).statusCode).toBe(200);
    expect((await dicomInfer(h, extra, true)).statusCode).toBe(200);
    await monitor.emitter.flush();
    const [withId, withoutId] = receiver.records;
    expect(parseRecord(withId)).toMatchObject({ ok: true });
    expect(parseRecord(withoutId).ok).toBe(true);
    expect(withId!.patient).toBe(patientPseudonym(key, FAKE_PATIENT.PatientID));
    expect(withoutId!.patient).toBeUndefined();
    expect(withId!.metadata).toEqual({
      Modality: "CT",
      Manufacturer: "ACME Medical",
      ManufacturerModelName: "Scan 3000",
      KVP: 120,
      SliceThickness: 2.5,
      PhotometricInterpretation: "MONOCHROME2",
      Rows: 32,
      Columns: 32,
      BitsStored: 16,
      PixelRepresentation: 1,
      SamplesPerPixel: 1,
    });
    for (const k of Object.keys(withId!.metadata as object)) expect(ALLOWED_METADATA).toContain(k);
    expect(withId!.caseId).toMatch(/^[0-9a-f]{32}$/);
    const wire = receiver.bodies.join("\n");
    for (const phi of [FAKE_PATIENT.PatientID, "Doe", "Jane", "19700101", STUDY, "free text", "St Example"]) {
      expect(wire).not.toContain(phi);
    }
  });

  it("DataToModel: the pseudonym of the original Patient ID, metadata read after de-identification", async () => {
    registry = new Registry();
    monitor = { ...monitorFor(receiver.url, registry), pseudonymKey: undefined };
    h = await startHarness("cnn", {
      modelName: "cnn",
      signature,
      monitor,
      registry,
      deid: deidGate("DataToModel", key),
    });
    expect((await dicomInfer(h, { Manufacturer: "ACME Medical" })).statusCode).toBe(200);
    expect((await dicomInfer(h, {}, true)).statusCode).toBe(200);
    await monitor.emitter.flush();
    expect(receiver.records).toHaveLength(2);
    expect(receiver.records[0]!.patient).toBe(patientPseudonym(key, FAKE_PATIENT.PatientID));
    expect(receiver.records[0]!.metadata).toMatchObject({ Modality: "CT", Manufacturer: "ACME Medical" });
    expect(receiver.records[1]!.patient).toBeUndefined();
    expect(receiver.bodies.join("\n")).not.toContain(FAKE_PATIENT.PatientID);
  });

  it("without a mounted key sends no pseudonym", async () => {
    registry = new Registry();
    monitor = { ...monitorFor(receiver.url, registry), pseudonymKey: undefined };
    h = await startHarness("cnn", { modelName: "cnn", signature, monitor, registry });
    expect((await dicomInfer(h, {})).statusCode).toBe(200);
    await monitor.emitter.flush();
    expect(receiver.records).toHaveLength(1);
    expect(receiver.records[0]!.patient).toBeUndefined();
  });

  it("drops oldest-first and counts it while the monitor is down, then delivers the newest", async () => {
    await start({ capacity: 5, batch: 2 });
    receiver.mode = "unavailable";
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await jsonInfer(h);
      expect(r.status).toBe(200);
      ids.push(r.id);
    }
    await monitor.emitter.flush();
    const metrics = await (await h.sidecar.metricsApp.inject({ method: "GET", url: "/metrics" })).body;
    const dropped = metricValue(metrics, "medmlops_sidecar_monitor_dropped_total", 'reason="overflow"');
    expect(dropped).toBe(12 - monitor.emitter.pending);
    expect(monitor.emitter.pending).toBe(5);
    receiver.mode = "ok";
    await monitor.emitter.close();
    expect(receiver.records.map((r) => r.caseId)).toEqual(ids.slice(-5));
  });

  it("counts a batch the monitor refuses, and keeps answering", async () => {
    await start({ batch: 3 });
    receiver.mode = "refuse";
    for (let i = 0; i < 3; i++) expect((await jsonInfer(h)).status).toBe(200);
    await monitor.emitter.flush();
    const metrics = (await h.sidecar.metricsApp.inject({ method: "GET", url: "/metrics" })).body;
    expect(metricValue(metrics, "medmlops_sidecar_monitor_dropped_total", 'reason="refused"')).toBe(3);
    expect(monitor.emitter.pending).toBe(0);
  });

  it("keeps and retries records the monitor refuses for want of a credential (401), then delivers them", async () => {
    await start({ batch: 3 });
    receiver.mode = "unauthenticated";
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await jsonInfer(h)).id);
    await monitor.emitter.flush();
    const metrics = (await h.sidecar.metricsApp.inject({ method: "GET", url: "/metrics" })).body;
    expect(metricValue(metrics, "medmlops_sidecar_monitor_dropped_total", 'reason="refused"')).toBe(0);
    expect(monitor.emitter.pending).toBe(3);
    receiver.mode = "ok"; // e.g. the rotated token reached the monitor
    await monitor.emitter.close();
    expect(receiver.records.map((r) => r.caseId)).toEqual(ids);
  });

  it("never makes an inference wait: answers flow while the monitor holds a POST open or refuses connections", async () => {
    await start({ batch: 1 });
    receiver.mode = "hang";
    const first = await jsonInfer(h);
    expect(first.status).toBe(200);
    // wait until the emitter's POST is being held by the receiver
    for (let i = 0; i < 100 && receiver.hanging.length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(receiver.hanging.length).toBe(1);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await jsonInfer(h);
      expect(r.status).toBe(200);
      times.push(r.ms);
    }
    // A held POST would cost the 1 s client timeout per request if anything waited on it.
    expect(Math.max(...times)).toBeLessThan(500);
    await h.close();

    // A port nobody listens on: connection refused.
    const closed = new Receiver();
    await closed.start();
    const deadUrl = closed.url;
    await closed.stop();
    await start({ batch: 1, url: deadUrl });
    for (let i = 0; i < 5; i++) expect((await jsonInfer(h)).status).toBe(200);
    await monitor.emitter.flush();
    expect(monitor.emitter.pending).toBeGreaterThan(0);
  });
});
