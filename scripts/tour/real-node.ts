/**
 * The last step of `npm start` when this machine can run the real node `real-0` (root, and
 * `bash .ci/setup.d/60-containers.sh` done: Debian's containerd/runc/CNI plugins, the project image, the kubelet):
 * a MedModel whose pod really runs the project image on real-0, its model read from the examples' model store
 * (`pvc://models/…`, the demo's local volume), with DataToModel de-identification under the key Secret the tour
 * made. A synthetic CT slice carrying a made-up patient name goes through the MedModel's stable Service (its
 * ClusterIP, kube-proxy's rules) to the sidecar in that pod, and the answer is shown.
 *
 * When the real node is not available, says why in one line and returns false: start.ts then runs the sidecar
 * directly, as before. MEDMLOPS_REAL_NODE=0 skips it on purpose. See docs/testing.md "The real node".
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { ctPhantom, FAKE_PATIENT, writeDicom } from "../../inference-sidecar/testing/dicom.ts";
import { cnnCtSignature, writeModel } from "../../inference-sidecar/testing/models.ts";
import { kubectl, kubectlOk, waitFor } from "../../test/cluster/client.ts";
import { repoRoot } from "../../test/cluster/paths.ts";
import {
  IMAGE_REF,
  REAL_NODE,
  REAL_NODE_PLACEMENT,
  realNodeUnsupported,
  upRealNode,
} from "../../test/cluster/real-node.ts";

const NAMESPACE = "radiology";
const NAME = "ct-slice";
const IMAGE_ARCHIVE = join(repoRoot, ".medmlops", "image", "medmlops-dev.oci.tar");

export interface TourIO {
  /** A step heading. */
  say(line: string): void;
  /** Text as it is (command output, an answer). */
  out(text: string): void;
}

/** Why the tour cannot use the real node here (undefined when it can). */
export function realNodeTourUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDMLOPS_REAL_NODE === "0") return "MEDMLOPS_REAL_NODE=0";
  const why = realNodeUnsupported();
  if (why) return why;
  if (!existsSync(IMAGE_ARCHIVE)) return "the project image is not built: run npm run image";
  return undefined;
}

/**
 * Runs the real-node step of the tour. `modelStore` is the folder behind the examples' `radiology/models` claim.
 * Returns false, after one line saying why, when the real node is not available.
 */
export async function realNodeTour(io: TourIO, modelStore: string): Promise<boolean> {
  const why = realNodeTourUnavailable();
  if (why) {
    io.say(
      `the real node ${REAL_NODE} is not available here (${why}); running the sidecar directly instead ` +
        "(for a real pod: as root, bash .ci/setup.d/60-containers.sh, then npm start again)",
    );
    return false;
  }
  io.say(
    `starting the real node ${REAL_NODE} (kubelet, containerd, runc, kube-proxy; npm run cluster:down undoes its host changes)`,
  );
  await upRealNode({ log: (line) => io.out(`   ${line}\n`) });

  io.say(`the model file in the hospital's model store: pvc://models/${NAME}/v1/model.onnx`);
  const dir = join(modelStore, NAME, "v1");
  mkdirSync(dir, { recursive: true });
  const model = join(dir, "model.onnx");
  renameSync(writeModel(dir, "cnn"), model);
  const sha256 = createHash("sha256").update(readFileSync(model)).digest("hex");

  io.say(`MedModel ${NAME}: its pod runs ${IMAGE_REF} on ${REAL_NODE}, DataToModel de-identification`);
  const medModel = {
    apiVersion: "medmlops.io/v1alpha1",
    kind: "MedModel",
    metadata: { name: NAME, namespace: NAMESPACE },
    spec: {
      modelCard: {
        intendedUse:
          "Demo only: a tiny synthetic CT classifier that shows the data path. Not for clinical use.",
        task: "classification",
        modalities: ["CT"],
        validUntil: "2027-12-31",
        owner: "radiology-ai@hospital.example",
      },
      // The CRD's signature shape: a number as the operating point.
      signature: {
        ...cnnCtSignature,
        outputs: cnnCtSignature.outputs.map(({ operatingPoint: _, ...o }) => ({ ...o, operatingPoint: 0.3 })),
      },
      versions: [{ name: "v1", source: { uri: `pvc://models/${NAME}/v1/model.onnx`, sha256 } }],
      activeVersion: "v1",
      // A demo model validated nowhere: serve it without waiting for a ValidationPolicy verdict.
      rollout: { strategy: "BlueGreen", requireValidation: false },
      serving: { replicas: 1, image: IMAGE_REF, ...REAL_NODE_PLACEMENT },
      deid: { mode: "DataToModel" },
    },
  };
  io.out(await kubectlOk(["apply", "-f", "-"], JSON.stringify(medModel)));
  io.say(
    "waiting for the pod: fetch-model copies and verifies the model, then the sidecar's probes pass (real containers)",
  );
  await waitFor(
    async () => {
      const out = await kubectl(["-n", NAMESPACE, "get", "medmodel", NAME, "-o", "json"]);
      if (out.code !== 0) return false;
      const st = JSON.parse(out.stdout).status as
        | { activeVersion?: string; versions?: { name: string; readyReplicas?: number }[] }
        | undefined;
      return (
        st?.activeVersion === "v1" && (st.versions?.find((v) => v.name === "v1")?.readyReplicas ?? 0) >= 1
      );
    },
    240_000,
    1000,
  ).catch(async (err: unknown) => {
    const pods = await kubectl([
      "-n",
      NAMESPACE,
      "get",
      "pods",
      "-l",
      `medmlops.io/model=${NAME}`,
      "-o",
      "wide",
    ]);
    throw new Error(`MedModel ${NAME} did not become ready on ${REAL_NODE}: ${String(err)}\n${pods.stdout}`);
  });
  io.out(
    await kubectlOk([
      "-n",
      NAMESPACE,
      "get",
      "pods,services",
      "-l",
      `medmlops.io/model=${NAME}`,
      "-o",
      "wide",
    ]),
  );

  const ip = (
    await kubectlOk(["-n", NAMESPACE, "get", "service", NAME, "-o", "jsonpath={.spec.clusterIP}"])
  ).trim();
  io.say(
    `POST a synthetic CT slice (patient name "${FAKE_PATIENT.PatientName}" planted) as application/dicom to the Service: http://${ip}/v2/models/${NAME}/infer`,
  );
  const dicom = writeDicom({
    rows: 64,
    columns: 64,
    pixels: ctPhantom(64, 64),
    studyInstanceUid: "2.25.1234",
  });
  const res = await waitFor(
    async () => {
      const r = await fetch(`http://${ip}:80/v2/models/${NAME}/infer`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: Buffer.from(dicom),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      return r?.ok ? r : undefined;
    },
    30_000,
    500,
  );
  const text = await res.text();
  io.out(`${res.status} ${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  if (text.includes(FAKE_PATIENT.PatientName) || text.includes(FAKE_PATIENT.PatientID))
    throw new Error("the answer carries the planted patient identifier");
  io.say(
    `answered by the sidecar in a real pod on ${REAL_NODE}; de-identified before the model saw it (no name or ID in the answer; case_id is a keyed pseudonym)`,
  );
  return true;
}
