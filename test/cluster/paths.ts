import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (test/cluster/ is two levels below it). */
export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** Where everything the test cluster writes lives (git-ignored). MEDMLOPS_CLUSTER_DIR overrides it. */
export interface ClusterPaths {
  state: string;
  bin: string;
  logs: string;
  pids: string;
  pki: string;
  etcdData: string;
  kubeconfig: string;
  /** Ports and start time of the running cluster (JSON, see state.ts). */
  stateFile: string;
  kwokStages: string;
}

export function clusterPaths(
  state = process.env.MEDMLOPS_CLUSTER_DIR ?? join(repoRoot, ".medmlops", "cluster"),
): ClusterPaths {
  const bin = join(state, "bin");
  return {
    state,
    bin,
    logs: join(state, "logs"),
    pids: join(state, "pids"),
    pki: join(state, "pki"),
    etcdData: join(state, "etcd-data"),
    kubeconfig: join(state, "kubeconfig"),
    stateFile: join(state, "cluster.json"),
    kwokStages: join(bin, "kwok-stages.yaml"),
  };
}

/** The binaries build.sh produces; the launcher refuses to start without all of them. */
export const BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
  "helm",
] as const;
export type Binary = (typeof BINARIES)[number];

export function binPath(name: Binary, paths: ClusterPaths = clusterPaths()): string {
  return join(paths.bin, name);
}
