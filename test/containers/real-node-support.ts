// Shared helpers of the tests on the real node real-0 (test/containers/real-node-*.test.ts): the MedModel spec
// that places pods there, the stable Service's ClusterIP, requests through it, and the state to print when a wait
// times out. Real pods, real kube-proxy rules: nothing here writes a pod status.
import { type Harness, getModel } from "../integration/medmodel-support.ts";
import { kubectl, kubectlOk } from "../cluster/client.ts";
import { IMAGE_REF, REAL_NODE_PLACEMENT } from "../cluster/real-node.ts";

/** spec.serving of a MedModel whose pods run the project image on real-0. */
export const REAL_SERVING = { replicas: 1, image: IMAGE_REF, ...REAL_NODE_PLACEMENT } as const;

export async function clusterIp(namespace: string, service: string): Promise<string> {
  return (
    await kubectlOk(["get", "service", service, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}"])
  ).trim();
}

export interface Answer {
  status: number;
  body: string;
}

/** POST an OIP v2 request (JSON tensor, or raw DICOM bytes) to `http://<ip>:80/v2/models/<model>/infer`. */
export async function inferAt(
  ip: string,
  model: string,
  body: { tensor: Float32Array; shape: number[] } | { dicom: Uint8Array },
  timeoutMs = 10_000,
): Promise<Answer> {
  const init =
    "dicom" in body
      ? { headers: { "content-type": "application/dicom" }, body: Buffer.from(body.dicom) }
      : {
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            inputs: [{ name: "image", datatype: "FP32", shape: body.shape, data: [...body.tensor] }],
          }),
        };
  const res = await fetch(`http://${ip}:80/v2/models/${model}/infer`, {
    method: "POST",
    ...init,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.text() };
}

/** Pods (wide) and the model's status: what a timed-out wait prints so a failure explains itself. */
export async function describeState(h: Harness, namespace: string, model: string): Promise<string> {
  const pods = await kubectl(["get", "pods", "-n", namespace, "-o", "wide"]);
  const m = await getModel(h, namespace, model);
  return `${pods.stdout}\n${JSON.stringify(m?.status, null, 1)}`;
}

/** Waits until `version` of `model` is the serving version with a ready replica. */
export async function servingReady(
  h: Harness,
  namespace: string,
  model: string,
  version: string,
): Promise<boolean> {
  const m = await getModel(h, namespace, model);
  const v = m?.status?.versions?.find((x) => x.name === version);
  return (v?.readyReplicas ?? 0) >= 1 && m?.status?.activeVersion === version;
}

export interface PodView {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    initContainerStatuses?: { state: { terminated?: { exitCode: number; message?: string } } }[];
    containerStatuses?: {
      name: string;
      containerID?: string;
      restartCount: number;
      ready: boolean;
      state: { running?: object; waiting?: { reason?: string } };
    }[];
  };
}

export async function podsOf(namespace: string, model: string, version?: string): Promise<PodView[]> {
  const selector = `medmlops.io/model=${model}${version ? `,medmlops.io/version=${version}` : ""}`;
  const out = await kubectlOk(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"]);
  return (JSON.parse(out) as { items: PodView[] }).items;
}
