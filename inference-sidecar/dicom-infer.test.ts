import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyFromSecret } from "../deid/index.ts";
import { caseId } from "./case-id.ts";
import { deidGate } from "./deid-gate.ts";
import { buildMultipart } from "./dicom/multipart.ts";
import { decodeImage, TS } from "./dicom/pixels.ts";
import { planFor, resizeInto, toIntensity } from "./dicom/preprocess.ts";
import { softmax } from "./postprocess.ts";
import { Signature } from "./signature.ts";
import { ctPhantom, FAKE_PATIENT, writeDicom } from "./testing/dicom.ts";
import { type Harness, startHarness, TEST_CASE_KEY } from "./testing/harness.ts";
import { cnnCtSignature } from "./testing/models.ts";

const STUDY = "2.25.314159265358979";
const signature = Signature.parse(cnnCtSignature);

/** The tensor the signature says a DICOM instance becomes, computed step by step with the pure functions. */
async function expectedTensor(bytes: Uint8Array): Promise<Float32Array[]> {
  const im = await decodeImage(bytes);
  const spec = signature.inputs[0] as (typeof signature.inputs)[0] & {
    dicom: NonNullable<(typeof signature.inputs)[0]["dicom"]>;
  };
  const plan = planFor(spec, spec.dicom, im.header);
  return im.frames.map((f) => {
    const out = new Float32Array(256);
    resizeInto(toIntensity(f, im.header, spec.dicom, 1), im.header.rows, im.header.columns, 1, plan, out, 0);
    return out;
  });
}

function postDicom(h: Harness, body: Buffer | Uint8Array, contentType = "application/dicom") {
  return h.sidecar.app.inject({
    method: "POST",
    url: "/v2/models/cnn/infer",
    headers: { "content-type": contentType },
    payload: Buffer.from(body),
  });
}

describe("DICOM infer", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness("cnn", { signature });
  });
  afterAll(() => h.close());

  it("one instance: predictions after softmax equal session.run on the declared preprocessing", async () => {
    const bytes = writeDicom({ rows: 64, columns: 48, pixels: ctPhantom(64, 48), studyInstanceUid: STUDY });
    const res = await postDicom(h, bytes);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const [x] = await expectedTensor(bytes);
    const want = (
      await h.reference.run({ image: new ort.Tensor("float32", x as Float32Array, [1, 1, 16, 16]) })
    ).logits as ort.Tensor;
    const probs = softmax(want.data as Float32Array);
    expect(body).toMatchObject({
      model_name: "cnn",
      model_version: "1",
      instances: 1,
      deid_mode: "ModelToData",
    });
    expect(body.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.case_id).toBe(caseId(TEST_CASE_KEY, STUDY));
    const out = body.outputs[0];
    expect(out).toMatchObject({ name: "logits", shape: [1, 3], activation: "softmax" });
    expect(out.data).toEqual(probs);
    const pred = out.predictions[0];
    expect(pred.scores.map((s: { label: string }) => s.label)).toEqual(["normal", "nodule", "mass"]);
    expect(pred.decision).toEqual({
      label: "nodule",
      score: probs[1],
      threshold: 0.3,
      positive: (probs[1] as number) >= 0.3,
    });
    // Never a patient identifier or UID in the answer.
    const text = res.body;
    for (const phi of [FAKE_PATIENT.PatientName, FAKE_PATIENT.PatientID, STUDY])
      expect(text).not.toContain(phi);
  });

  it("a multipart series: one item per instance, same answers as one by one; any transfer syntax", async () => {
    const instances = [TS.explicitLE, TS.rle, TS.explicitBE].map((ts, i) =>
      writeDicom({
        rows: 40,
        columns: 40,
        pixels: ctPhantom(40, 40, i + 1),
        transferSyntax: ts,
        studyInstanceUid: STUDY,
      }),
    );
    const mp = buildMultipart(instances);
    const res = await postDicom(h, mp.body, mp.contentType);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.instances).toBe(3);
    expect(body.outputs[0].shape).toEqual([3, 3]);
    for (const [i, bytes] of instances.entries()) {
      const one = (await postDicom(h, bytes)).json();
      expect(body.outputs[0].predictions[i]).toEqual(one.outputs[0].predictions[0]);
    }
  });

  it("refuses what it cannot read with a coded error", async () => {
    const garbage = await postDicom(h, Buffer.from("definitely not dicom"));
    expect(garbage.statusCode).toBe(422);
    expect(garbage.json().code).toBe("INVALID_DICOM");
    const wrongType = await postDicom(
      h,
      Buffer.from("x"),
      'multipart/related; type="image/jpeg"; boundary=b',
    );
    expect(wrongType.statusCode).toBe(415);
    const twoStudies = buildMultipart([
      writeDicom({ rows: 8, columns: 8, pixels: ctPhantom(8, 8), studyInstanceUid: "2.25.1" }),
      writeDicom({ rows: 8, columns: 8, pixels: ctPhantom(8, 8), studyInstanceUid: "2.25.2" }),
    ]);
    const mixed = await postDicom(h, twoStudies.body, twoStudies.contentType);
    expect(mixed.statusCode).toBe(400);
    expect(mixed.body).not.toContain("2.25.1");
  });

  it("a model without DICOM configuration answers 422", async () => {
    const two = await startHarness("two");
    try {
      const res = await two.sidecar.app.inject({
        method: "POST",
        url: "/v2/models/two/infer",
        headers: { "content-type": "application/dicom" },
        payload: Buffer.from(writeDicom({ rows: 4, columns: 4, pixels: ctPhantom(4, 4) })),
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().code).toBe("DICOM_NOT_CONFIGURED");
    } finally {
      await two.close();
    }
  });
});

describe("DataToModel", () => {
  it("de-identifies before use and keeps only de-identified instances", async () => {
    const keepDir = mkdtempSync(join(tmpdir(), "sidecar-keep-"));
    const key = keyFromSecret("a-de-identification-key-for-tests-only");
    const h = await startHarness("cnn", { signature, deid: deidGate("DataToModel", key), keepDir });
    try {
      const bytes = writeDicom({ rows: 32, columns: 32, pixels: ctPhantom(32, 32), studyInstanceUid: STUDY });
      const res = await postDicom(h, bytes);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.deid_mode).toBe("DataToModel");
      // The case id is keyed on the de-identified (remapped) study UID, never the original.
      expect(body.case_id).toMatch(/^[0-9a-f]{32}$/);
      expect(body.case_id).not.toBe(caseId(TEST_CASE_KEY, STUDY));
      const kept = readdirSync(join(keepDir, body.case_id));
      expect(kept).toHaveLength(1);
      const keptBytes = readFileSync(join(keepDir, body.case_id, kept[0] as string));
      const latin = keptBytes.toString("latin1");
      for (const phi of [FAKE_PATIENT.PatientName, FAKE_PATIENT.PatientID, STUDY])
        expect(latin).not.toContain(phi);
      // Pixels are what the model saw.
      expect((await decodeImage(keptBytes)).frames[0]).toEqual((await decodeImage(bytes)).frames[0]);
    } finally {
      await h.close();
      rmSync(keepDir, { recursive: true, force: true });
    }
  });
});
