// Shared helpers of the MedModel integration tests and benchmarks: CRDs installed, the operator's Manager
// in-process with the MedModel controller, a user-side client (its own field manager), MedModel manifests,
// and kwok-compatible ways to make a version unavailable.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { Manager } from "../../operator/manager.ts";
import { MedModelKind, medModelControllerWith } from "../../operator/medmodel/index.ts";
import { medModelManifest } from "../../operator/medmodel/fixtures.ts";
import type { DecisionOptions } from "../../operator/medmodel/types.ts";
import { ApplyClient } from "../../operator/runtime/client.ts";
import { type KubeObject, Kinds, type OperatorConfig } from "../../operator/runtime/index.ts";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import { RestMapper } from "../../operator/runtime/rest-mapper.ts";
import { applyFile, testKubeConfig, waitFor } from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";

export { medModelManifest, waitFor };

export type MM = KubeObject & {
  spec: Record<string, unknown>;
  status?: {
    activeVersion?: string;
    lastKnownGoodVersion?: string;
    canary?: { version: string; weight: number; step: number };
    failover?: { count: number; lastTransition?: { from: string; to: string; reason: string; at: string } };
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
    versions?: { name: string; phase: string; readyReplicas?: number }[];
    observedGeneration?: number;
  };
};

export async function installCrds(): Promise<void> {
  for (const f of readdirSync(join(repoRoot, "crds")).filter((n) => n.endsWith(".yaml"))) {
    await applyFile(join(repoRoot, "crds", f));
  }
}

export interface Harness {
  rest: RestClient;
  /** Writes as a user would (field manager medmlops-test-user). */
  user: ApplyClient;
  start(): Promise<Manager>;
  stop(): Promise<void>;
  manager(): Manager | undefined;
}

export const FAST: Partial<DecisionOptions> = {
  minHealthyMs: 1500,
  standbyReplicas: 1,
  defaultUnavailableAfterMs: 1000,
};

export function harness(
  namespace: string,
  decision: Partial<DecisionOptions> = FAST,
  extra: Partial<OperatorConfig> = {},
): Harness {
  const kc = testKubeConfig();
  const rest = restClientFromKubeConfig(kc);
  const user = new ApplyClient(rest, new RestMapper(rest), "medmlops-test-user");
  let current: Manager | undefined;
  return {
    rest,
    user,
    async start() {
      current = new Manager({
        kubeConfig: kc,
        log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
        controllers: [medModelControllerWith({ decision })],
        metricsPort: 0,
        metricsHost: "127.0.0.1",
        config: {
          namespace,
          sidecarImage: "ghcr.io/medmlops/medmlops:test",
          identity: `medmodel-test-${process.pid}`,
          ...extra,
        },
      });
      await current.start();
      return current;
    },
    async stop() {
      await current?.stop();
      current = undefined;
    },
    manager: () => current,
  };
}

/** https:// sources, so the pods need no PersistentVolumeClaim to be scheduled (kwok runs no init container). */
const VERSIONS = ["v1", "v2"].map((v, i) => ({
  name: v,
  source: { uri: `https://models.hospital.example/chest/${v}.onnx`, sha256: String(i + 1).repeat(64) },
}));

export function manifest(name: string, namespace: string, spec: Record<string, unknown>): MM {
  return medModelManifest(name, namespace, {
    versions: VERSIONS,
    serving: { replicas: 1 },
    failover: { unavailableAfter: "1s" },
    ...spec,
  }) as unknown as MM;
}

export async function getModel(h: Harness, namespace: string, name: string): Promise<MM | undefined> {
  return h.user.get<MM>(MedModelKind, { namespace, name });
}

export const condition = (m: MM | undefined, type: string) =>
  m?.status?.conditions?.find((c) => c.type === type);

export async function stableSelector(h: Harness, namespace: string, name: string) {
  const svc = await h.user.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(Kinds.Service, {
    namespace,
    name,
  });
  return svc?.spec?.selector;
}

export async function listNames(
  h: Harness,
  gvk: typeof Kinds.Pod | typeof Kinds.Deployment | typeof Kinds.Service,
  namespace: string,
  model: string,
) {
  const base = gvk.group === "" ? "/api/v1" : `/apis/${gvk.group}/${gvk.version}`;
  const res = await h.rest.request<{ items: KubeObject[] }>(
    "GET",
    `${base}/namespaces/${namespace}/${gvk.plural}`,
    {
      query: { labelSelector: `medmlops.io/model=${model}` },
    },
  );
  return res.items.filter((o) => !o.metadata?.deletionTimestamp).map((o) => o.metadata?.name ?? "");
}

/**
 * kwok makes every scheduled pod Running and Ready, so "the serving version goes away" is simulated the way a
 * lost node or an exhausted namespace looks: a ResourceQuota of zero pods stops the ReplicaSet from replacing
 * the version's pods, and those pods are deleted. Namespace-local, so other tests on the cluster are unaffected.
 */
export async function blockNewPods(h: Harness, namespace: string): Promise<void> {
  await h.user.apply({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "no-new-pods", namespace },
    spec: { hard: { pods: "0" } },
  });
  // Admission uses the quota once the quota controller has computed its status.
  await waitFor(async () => {
    const q = await h.user.get<KubeObject & { status?: { hard?: Record<string, string> } }>(
      { group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas" },
      { namespace, name: "no-new-pods" },
    );
    return q?.status?.hard?.["pods"] === "0";
  }, 20_000);
}

export async function allowNewPods(h: Harness, namespace: string): Promise<void> {
  await h.user.delete(
    { group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas" },
    {
      namespace,
      name: "no-new-pods",
    },
  );
}

export async function deletePodsOf(
  h: Harness,
  namespace: string,
  model: string,
  version: string,
): Promise<void> {
  await h.rest.request("DELETE", `/api/v1/namespaces/${namespace}/pods`, {
    query: {
      labelSelector: `medmlops.io/model=${model},medmlops.io/version=${version}`,
      gracePeriodSeconds: 0,
    },
  });
}

export async function eventsFor(h: Harness, namespace: string, name: string) {
  type Ev = { reason?: string; note?: string; type?: string; regarding?: { name?: string; kind?: string } };
  const res = await h.rest.request<{ items: Ev[] }>(
    "GET",
    `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
  );
  return res.items.filter((e) => e.regarding?.kind === "MedModel" && e.regarding?.name === name);
}

/**
 * kwok runs no containers, but it leaves a pod status written through the status subresource alone: a test can
 * make a pod look like a crash-looping sidecar, or like fetch-model refusing a digest, the way the kubelet would
 * report it.
 */
export async function patchPodStatus(
  h: Harness,
  namespace: string,
  model: string,
  version: string,
  how: "CrashLoopBackOff" | { initReason: string; message: string },
): Promise<void> {
  type Pod = KubeObject & { status: Record<string, unknown> & { conditions?: { type: string }[] } };
  const pods = await h.rest.request<{ items: Pod[] }>("GET", `/api/v1/namespaces/${namespace}/pods`, {
    query: { labelSelector: `medmlops.io/model=${model},medmlops.io/version=${version}` },
  });
  const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  for (const p of pods.items) {
    const conditions = (p.status.conditions ?? []).map((c) =>
      c.type === "Ready" || c.type === "ContainersReady"
        ? { ...c, status: "False", lastTransitionTime: at }
        : c,
    );
    const status =
      how === "CrashLoopBackOff"
        ? {
            conditions,
            containerStatuses: [
              {
                name: "sidecar",
                image: "x",
                imageID: "",
                ready: false,
                restartCount: 5,
                state: {
                  waiting: { reason: "CrashLoopBackOff", message: "back-off restarting failed container" },
                },
              },
            ],
          }
        : {
            conditions,
            initContainerStatuses: [
              {
                name: "fetch-model",
                image: "x",
                imageID: "",
                ready: false,
                restartCount: 2,
                state: { waiting: { reason: "CrashLoopBackOff" } },
                lastState: {
                  terminated: {
                    exitCode: 1,
                    reason: "Error",
                    message: JSON.stringify({ reason: how.initReason, message: how.message }),
                  },
                },
              },
            ],
          };
    await h.rest.request("PATCH", `/api/v1/namespaces/${namespace}/pods/${p.metadata?.name}/status`, {
      body: { status },
      contentType: "application/merge-patch+json",
    });
  }
}
