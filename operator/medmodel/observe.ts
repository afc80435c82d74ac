/**
 * Turns what the cache holds about one version (its Deployment and pods) into the VersionHealth the decisions
 * read. Pure, apart from the small memo that remembers since when a version has had no ready pod (kept by the
 * controller; seeded from the Deployment's Available condition so an operator restart does not reset it).
 */
import { parseTerminationMessage } from "../fetch/errors.ts";
import type { KubeObject } from "../runtime/index.ts";
import type { VersionFailure, VersionHealth } from "./types.ts";

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { exitCode?: number; message?: string } };
  lastState?: { terminated?: { exitCode?: number; message?: string } };
}
interface PodLike extends KubeObject {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}
interface DeploymentLike extends KubeObject {
  spec?: { replicas?: number };
  status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

export const FETCH_CONTAINER = "fetch-model";

/**
 * What the cache keeps of a model pod: its metadata (labels map it to its model and version; deletionTimestamp)
 * and its status — all that observeVersion reads. The spec (containers, env, volumes, probes) is most of a pod and
 * is never read; dropping it bounds the operator's memory at one cached pod per replica.
 */
export function podForCache(pod: KubeObject): KubeObject {
  const { apiVersion, kind, metadata, status } = pod as PodLike;
  return { apiVersion, kind, metadata, ...(status ? { status } : {}) } as KubeObject;
}

/**
 * What the cache keeps of a child: Deployments without their pod template (the controller reads labels, owner,
 * generation, spec.replicas and status; drift of the template shows as a new generation). The deployment
 * controller rewrites a Deployment's status several times while it starts, and every cached copy of the full
 * template became old-generation garbage. Services, ConfigMaps and HTTPRoutes are small and rarely change.
 */
export function childForCache(obj: KubeObject): KubeObject {
  if (obj.kind !== "Deployment") return obj;
  const { apiVersion, kind, metadata, spec, status } = obj as DeploymentLike;
  return {
    apiVersion,
    kind,
    metadata,
    ...(spec ? { spec: spec.replicas === undefined ? {} : { replicas: spec.replicas } } : {}),
    ...(status ? { status } : {}),
  } as KubeObject;
}

function podReadySince(pod: PodLike): number | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === "Ready");
  if (c?.status !== "True") return undefined;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : Number.NaN;
  return Number.isFinite(t) ? t : 0;
}

/** The reason fetch-model gave when it refused (current or last attempt). */
export function fetchFailure(pod: PodLike): VersionFailure | undefined {
  const s = pod.status?.initContainerStatuses?.find((c) => c.name === FETCH_CONTAINER);
  if (!s) return undefined;
  if (s.state?.terminated?.exitCode === 0) return undefined;
  const t =
    s.state?.terminated && s.state.terminated.exitCode !== 0 ? s.state.terminated : s.lastState?.terminated;
  if (!t || t.exitCode === 0 || t.exitCode === undefined) return undefined;
  return (
    parseTerminationMessage(t.message) ?? {
      reason: "FetchFailed",
      message: `fetch-model exited ${t.exitCode}`,
    }
  );
}

export function crashLooping(pod: PodLike): boolean {
  return (pod.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === "CrashLoopBackOff");
}

export interface UnavailableMemo {
  since?: number;
}

export function observeVersion(
  deployment: DeploymentLike | undefined,
  allPods: PodLike[],
  memo: UnavailableMemo,
  now: number,
): VersionHealth {
  const pods = allPods.filter((p) => !p.metadata?.deletionTimestamp);
  const readyTimes = pods.map(podReadySince).filter((t): t is number => t !== undefined);
  const readyReplicas = readyTimes.length;
  const wanted = deployment?.spec?.replicas ?? 0;

  if (readyReplicas > 0 || !deployment) memo.since = undefined;
  else if (memo.since === undefined) {
    const available = deployment.status?.conditions?.find((c) => c.type === "Available");
    const t =
      available?.status === "False" && available.lastTransitionTime
        ? Date.parse(available.lastTransitionTime)
        : NaN;
    memo.since = Number.isFinite(t) && t <= now ? t : now;
  }

  // A failing pod matters when too few pods are ready to serve: fewer than half of those wanted.
  const starved = readyReplicas * 2 < Math.max(1, wanted);
  const failure = starved ? pods.map(fetchFailure).find((f) => f !== undefined) : undefined;
  const health: VersionHealth = {
    exists: deployment !== undefined,
    readyReplicas,
    pods: pods.length,
    crashLooping: starved && pods.some(crashLooping),
  };
  if (failure) health.failure = failure;
  if (memo.since !== undefined) health.unavailableSince = memo.since;
  if (readyReplicas > 0) health.readySince = Math.max(...readyTimes);
  return health;
}
