/**
 * The two de-identification modes in real pods on real-0, a DICOM CT slice with a planted patient name, ID and
 * study UID sent through each MedModel's stable Service:
 *  - DataToModel with the key Secret mounted: the sidecar de-identifies the instance before anything reads it.
 *    No identifier in the answer or in the pod's log, and the case id is the HMAC (under the case-id Secret's key,
 *    not the deid key: one purpose per key, docs/security.md) of the
 *    study UID *after* de-identification — computed here with the deid library and that key — so the model and
 *    everything after the gate saw only the de-identified instance. The scores equal the ModelToData model's on the
 *    same pixels (de-identification leaves the image alone).
 *  - ModelToData with no key Secrets in the namespace: the pod still starts (both volumes are optional there),
 *    serves, and answers with `case_id: null`.
 *
 * Runs only with the real node (MEDMLOPS_REAL_NODE=1 or CI=true; see vitest.config.ts and docs/testing.md).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deidentify, keyFromSecret } from "../../deid/index.ts";
import { readWithDcmjs } from "../../deid/testing/build.ts";
import { caseId } from "../../inference-sidecar/case-id.ts";
import { ctPhantom, FAKE_PATIENT, writeDicom } from "../../inference-sidecar/testing/dicom.ts";
import { cnnCtSignature, writeModel } from "../../inference-sidecar/testing/models.ts";
import { type FreshNamespace, freshNamespace, kubectlOk, waitFor } from "../cluster/client.ts";
import { REAL_NODE } from "../cluster/real-node.ts";
import {
  type Harness,
  harness,
  installCrds,
  type MM,
  medModelManifest,
} from "../integration/medmodel-support.ts";
import {
  clusterIp,
  describeState,
  inferAt,
  podsOf,
  REAL_SERVING,
  servingReady,
} from "./real-node-support.ts";

const KEY = "a-hospital-key-for-the-real-node-test-0123456789";
const CASE_KEY = "a-hospital-case-id-key-for-the-real-node-test-42";
const OPTIONS = ["CleanDescriptors", "RetainLongitudinalTemporalInformationModifiedDates"] as const;
const STUDY = "2.25.271828182845904523536";
/** The test signature in the CRD's shape (its operatingPoint is a number there). */
const signature = {
  ...cnnCtSignature,
  outputs: cnnCtSignature.outputs.map(({ operatingPoint: _, ...o }) => ({ ...o, operatingPoint: 0.3 })),
};
const PHI = [FAKE_PATIENT.PatientName, "Doe", FAKE_PATIENT.PatientID, STUDY];
let ns: FreshNamespace;
let h: Harness;
let work: string;
let sha: string;
let dicom: Uint8Array;

interface DicomAnswer {
  deid_mode: string;
  case_id: string | null;
  outputs: { name: string; data: number[] }[];
}

function model(name: string, deid: Record<string, unknown>, serving: Record<string, unknown> = {}): MM {
  return medModelManifest(name, ns.name, {
    signature,
    versions: [{ name: "v1", source: { uri: "configmap://models/model.onnx", sha256: sha } }],
    activeVersion: "v1",
    serving: { ...REAL_SERVING, ...serving },
    deid,
  }) as unknown as MM;
}

async function ask(name: string): Promise<{ text: string; body: DicomAnswer }> {
  await waitFor(() => servingReady(h, ns.name, name, "v1"), 180_000, 1000).catch(async (err) => {
    throw new Error(`${String(err)}\n${await describeState(h, ns.name, name)}`);
  });
  const [pod] = await podsOf(ns.name, name, "v1");
  expect(pod?.spec.nodeName).toBe(REAL_NODE);
  const ip = await clusterIp(ns.name, name);
  // Ready pods can take a while to be reachable through the ClusterIP under load (kube-proxy's iptables sync):
  // wait, and say what the last attempt got if it never answers.
  let last = "no attempt";
  const r = await waitFor(
    async () => {
      const x = await inferAt(ip, name, { dicom }).catch((err: unknown) => {
        last = String(err);
        return undefined;
      });
      if (x && x.status !== 200) last = `HTTP ${x.status} ${x.body.slice(0, 200)}`;
      return x?.status === 200 ? x : undefined;
    },
    90_000,
    500,
  ).catch(async (err) => {
    throw new Error(`${String(err)}; last attempt: ${last}\n${await describeState(h, ns.name, name)}`);
  });
  return { text: r.body, body: JSON.parse(r.body) as DicomAnswer };
}

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("real-deid");
  work = mkdtempSync(join(tmpdir(), "real-deid-"));
  const file = writeModel(work, "cnn");
  sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  await kubectlOk(["-n", ns.name, "create", "configmap", "models", `--from-file=model.onnx=${file}`]);
  // Only the DataToModel model's Secrets exist (deid key, case-id key); the ModelToData model's do not.
  for (const [name, key] of [
    ["hospital-key", KEY],
    ["hospital-case-ids", CASE_KEY],
  ]) {
    await kubectlOk(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns.name },
        stringData: { "hmac-key": key },
      }),
    );
  }
  dicom = writeDicom({ rows: 64, columns: 64, pixels: ctPhantom(64, 64), studyInstanceUid: STUDY });
  h = harness(ns.name, { minHealthyMs: 1500, standbyReplicas: 1, defaultUnavailableAfterMs: 5000 });
  await h.start();
  await h.user.apply(
    model(
      "deid-in",
      { mode: "DataToModel", options: [...OPTIONS], keySecretRef: { name: "hospital-key", key: "hmac-key" } },
      { caseIdKeySecretRef: { name: "hospital-case-ids", key: "hmac-key" } },
    ),
  );
  await h.user.apply(
    model("deid-out", { mode: "ModelToData", keySecretRef: { name: "no-such-key", key: "hmac-key" } }),
  );
}, 300_000);

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe(`de-identification modes in real pods on ${REAL_NODE}`, () => {
  let dataToModel: DicomAnswer;

  it("DataToModel with the key Secret: the sidecar de-identifies before the model; no identifier leaves the pod", {
    timeout: 240_000,
  }, async () => {
    const { text, body } = await ask("deid-in");
    dataToModel = body;
    expect(body.deid_mode).toBe("DataToModel");
    for (const phi of PHI) expect(text).not.toContain(phi);
    // The case id came from the de-identified instance, keyed with the case-id Secret (never the deid key).
    const deid = deidentify(dicom, { key: keyFromSecret(KEY), options: [...OPTIONS] });
    if (!deid.ok) throw new Error(`the test's own de-identification failed: ${deid.code}`);
    const deidStudy = String(readWithDcmjs(deid.output).ds.StudyInstanceUID);
    expect(deidStudy).not.toBe(STUDY);
    const key = { key: Buffer.from(CASE_KEY), persistent: true };
    expect(body.case_id).toBe(caseId(key, deidStudy));
    expect(body.case_id).not.toBe(caseId(key, STUDY));
    expect(body.case_id).not.toBe(caseId({ key: Buffer.from(KEY), persistent: true }, deidStudy));
    // Nor in what the sidecar logged.
    const [pod] = await podsOf(ns.name, "deid-in", "v1");
    const logs = await kubectlOk(["logs", "-n", ns.name, pod?.metadata.name ?? "", "-c", "sidecar"]);
    expect(logs.length).toBeGreaterThan(0);
    for (const phi of PHI) expect(logs).not.toContain(phi);
  });

  it("ModelToData without key Secrets: the pod starts and serves, case_id is null, same scores", {
    timeout: 240_000,
  }, async () => {
    const { text, body } = await ask("deid-out");
    expect(body.deid_mode).toBe("ModelToData");
    expect(body.case_id).toBeNull();
    for (const phi of PHI) expect(text).not.toContain(phi);
    const scores = (b: DicomAnswer) => b.outputs.find((o) => o.name === "logits")?.data;
    expect(scores(body)).toHaveLength(3);
    expect(scores(body)).toEqual(scores(dataToModel));
    const [pod] = await podsOf(ns.name, "deid-out", "v1");
    const logs = await kubectlOk(["logs", "-n", ns.name, pod?.metadata.name ?? "", "-c", "sidecar"]);
    expect(logs).toContain("answers carry no case id");
  });
});
