// Fake nodes that kwok manages (it acts on nodes annotated kwok.x-k8s.io/node=fake). No NoSchedule taint: the
// scheduler must be able to place ordinary pods on them. Capacity is what the scheduler sees; nothing really runs.

export const KWOK_ANNOTATION = "kwok.x-k8s.io/node";
export const GPU_RESOURCE = "nvidia.com/gpu";
export const GPU_NODE = "kwok-gpu-0";
export const CPU_NODES = ["kwok-cpu-0", "kwok-cpu-1"] as const;
export const GPU_PER_NODE = 4;

function node(name: string, extraLabels: Record<string, string>, extraCapacity: Record<string, string>) {
  const capacity = {
    cpu: "32",
    memory: "128Gi",
    // Far above a real kubelet's 110: nothing runs, and the 500-MedModel benchmark needs 1000+ pods.
    pods: "1000",
    "ephemeral-storage": "500Gi",
    ...extraCapacity,
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node-role.kubernetes.io/agent": "",
        type: "kwok",
        ...extraLabels,
      },
    },
    spec: {},
    status: { capacity, allocatable: capacity },
  };
}

export function fakeNodes() {
  return [
    ...CPU_NODES.map((n) => node(n, {}, {})),
    node(
      GPU_NODE,
      { "medmlops.io/accelerator": "nvidia", "nvidia.com/gpu.present": "true" },
      { [GPU_RESOURCE]: String(GPU_PER_NODE) },
    ),
  ];
}
