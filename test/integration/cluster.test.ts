// The test control plane itself: real kube-apiserver/controller-manager/scheduler from the pinned release, with
// kwok simulating kubelets on fake nodes (containers do not run; see docs/testing.md).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, type V1Pod, VersionApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FreshNamespace,
  freshNamespace,
  helm,
  kubectlOk,
  testKubeConfig,
  waitFor,
} from "../cluster/client.ts";
import { CPU_NODES, GPU_NODE, GPU_PER_NODE, GPU_RESOURCE } from "../cluster/nodes.ts";
import { repoRoot } from "../cluster/paths.ts";

function pinned(module: string, goMod: string): string {
  const escaped = module.replace(/[./]/g, (c) => `\\${c}`);
  const m = new RegExp(`\\b${escaped} (v\\d+\\.\\d+\\.\\d+)\\b`).exec(
    readFileSync(join(repoRoot, goMod), "utf8"),
  );
  if (!m?.[1]) throw new Error(`${goMod} does not pin ${module}`);
  return m[1];
}
const pinnedKubernetes = pinned("k8s.io/kubernetes", "test/cluster/k8s/go.mod");
const pinnedHelm = pinned("helm.sh/helm/v3", "test/cluster/helm/go.mod");

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const FAKE_NODES: string[] = [...CPU_NODES, GPU_NODE];

function isReady(p: V1Pod): boolean {
  return (
    p.status?.phase === "Running" &&
    !!p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
  );
}

function pod(name: string, resources: Record<string, string>): V1Pod {
  return {
    metadata: { name },
    spec: {
      containers: [
        {
          name: "main",
          image: "registry.k8s.io/pause:3.10",
          resources: { requests: resources, limits: resources },
        },
      ],
    },
  };
}

describe("test control plane", () => {
  let ns: FreshNamespace;
  beforeAll(async () => {
    ns = await freshNamespace("cluster");
  });
  afterAll(async () => {
    await ns?.delete();
  });

  it("serves /version of the pinned Kubernetes release (1.35)", async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe(pinnedKubernetes);
    expect(v.gitVersion).toMatch(/^v1\.35\.\d+$/);
    expect(v.major).toBe("1");
    expect(v.minor).toBe("35");
    const client = JSON.parse(await kubectlOk(["version", "--client", "-o", "json"])) as {
      clientVersion: { gitVersion: string };
    };
    expect(client.clientVersion.gitVersion).toBe(pinnedKubernetes);
  });

  it("registers the fake nodes Ready, the GPU node advertising nvidia.com/gpu", async () => {
    const nodes = (await core.listNode({ labelSelector: "type=kwok" })).items;
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual([...FAKE_NODES].sort());
    for (const n of nodes) {
      expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(n.spec?.taints ?? []).toEqual([]);
    }
    const gpu = nodes.find((n) => n.metadata?.name === GPU_NODE);
    expect(gpu?.status?.allocatable?.[GPU_RESOURCE]).toBe(String(GPU_PER_NODE));
    expect(gpu?.metadata?.labels?.["nvidia.com/gpu.present"]).toBe("true");
    for (const n of nodes.filter((x) => x.metadata?.name !== GPU_NODE)) {
      expect(n.status?.allocatable?.[GPU_RESOURCE]).toBeUndefined();
    }
  });

  it("runs a Deployment: ReplicaSet, Pods Ready on fake nodes; deleting it garbage-collects them", async () => {
    const labels = { app: "web" };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "web", image: "registry.k8s.io/pause:3.10" }] },
          },
        },
      },
    });
    const rs = await waitFor(async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns.name, labelSelector: "app=web" });
      return list.items.length === 1 ? list.items[0] : undefined;
    }, 30_000);
    const owner = rs.metadata?.ownerReferences?.[0];
    expect(owner?.kind).toBe("Deployment");
    expect(owner?.name).toBe("web");
    expect(owner?.controller).toBe(true);

    const pods = await waitFor(async () => {
      const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" });
      return list.items.length === 3 && list.items.every(isReady) ? list.items : undefined;
    }, 60_000);
    for (const p of pods) {
      expect(FAKE_NODES).toContain(p.spec?.nodeName);
      expect(p.metadata?.ownerReferences?.[0]?.name).toBe(rs.metadata?.name);
      expect(p.status?.podIP).toMatch(/^10\.244\./);
    }
    await waitFor(async () => {
      const d = await apps.readNamespacedDeployment({ name: "web", namespace: ns.name });
      return d.status?.availableReplicas === 3;
    }, 30_000);

    await apps.deleteNamespacedDeployment({
      name: "web",
      namespace: ns.name,
      propagationPolicy: "Background",
    });
    await waitFor(async () => {
      const [r, p] = await Promise.all([
        apps.listNamespacedReplicaSet({ namespace: ns.name, labelSelector: "app=web" }),
        core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" }),
      ]);
      return r.items.length === 0 && p.items.length === 0;
    }, 60_000);
  });

  it("places pods requesting nvidia.com/gpu on the GPU node only, up to its capacity", async () => {
    const names = ["gpu-a", "gpu-b"];
    for (const n of names) {
      await core.createNamespacedPod({
        namespace: ns.name,
        body: pod(n, { cpu: "100m", [GPU_RESOURCE]: "2" }),
      });
    }
    for (const n of names) {
      const p = await waitFor(async () => {
        const x = await core.readNamespacedPod({ name: n, namespace: ns.name });
        return isReady(x) ? x : undefined;
      }, 60_000);
      expect(p.spec?.nodeName).toBe(GPU_NODE);
    }
    // The GPU node's 4 GPUs are now taken: one more GPU pod must stay Pending as Unschedulable.
    await core.createNamespacedPod({ namespace: ns.name, body: pod("gpu-c", { [GPU_RESOURCE]: "1" }) });
    const pending = await waitFor(async () => {
      const x = await core.readNamespacedPod({ name: "gpu-c", namespace: ns.name });
      const c = x.status?.conditions?.find((k) => k.type === "PodScheduled");
      return c?.status === "False" ? c : undefined;
    }, 30_000);
    expect(pending.reason).toBe("Unschedulable");
    expect(pending.message).toContain(GPU_RESOURCE);
    // A pod without a GPU request is still scheduled (on any fake node).
    await core.createNamespacedPod({ namespace: ns.name, body: pod("cpu-only", { cpu: "100m" }) });
    const cpu = await waitFor(async () => {
      const x = await core.readNamespacedPod({ name: "cpu-only", namespace: ns.name });
      return isReady(x) ? x : undefined;
    }, 60_000);
    expect(FAKE_NODES).toContain(cpu.spec?.nodeName);
  });
});

describe("helm from test/cluster", () => {
  // The chart itself is exercised in chart.test.ts; this checks the binary build.sh produced.
  it("is the pinned helm v3 release and renders for Kubernetes 1.35 by default", async () => {
    const version = await helm(["version", "--template", "{{.Version}}"]);
    expect(version.stdout.trim()).toBe(pinnedHelm);
    const dir = mkdtempSync(join(tmpdir(), "helm-chart-"));
    try {
      mkdirSync(join(dir, "templates"));
      writeFileSync(
        join(dir, "Chart.yaml"),
        'apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: ">=1.35.0-0"\n',
      );
      writeFileSync(
        join(dir, "templates", "cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n",
      );
      const r = await helm(["template", "probe", dir]);
      expect(r.code, r.stderr).toBe(0);
      const [major, minor] = pinnedKubernetes.slice(1).split(".");
      expect(r.stdout).toContain(`kube: "v${major}.${minor}.0"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
