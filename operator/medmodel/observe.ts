/**
 * The first step of a reconcile: gather what the decision reads from the cache — per version the health of its
 * Deployment and pods, and the ValidationPolicy verdicts. Turning one version's Deployment and pods into the
 * VersionHealth the decisions read is pure, apart from the small memo that remembers since when a version has had
 * no ready pod (UnavailableMemos; seeded from the Deployment's Available condition so an operator restart does not
 * reset it).
 */
import type { MedModel } from "../../crds/index.ts";
import { parseTerminationMessage } from "../fetch/errors.ts";
import { ValidationPolicyKind } from "../kinds.ts";
import {
  type Cache,
  type KubeObject,
  Kinds,
  keyString,
  listOwned,
  type ObjectKey,
} from "../runtime/index.ts";
import { LABEL } from "./children.ts";
import { FAILURE_REASON } from "./reasons.ts";
import type { VersionFailure, VersionHealth, PolicyRequests, Verdict } from "./types.ts";
import { policiesFor, policyRequestsFor, verdictsFor } from "./validation.ts";

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
      reason: FAILURE_REASON.FetchFailed,
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

/**
 * The unavailable-since memos of every model, per version. A model's memos go when the model goes (forget) or is
 * re-created under the same name (another uid), a version's when it leaves spec.versions.
 */
export class UnavailableMemos {
  private readonly byModel = new Map<string, { uid: string; versions: Map<string, UnavailableMemo> }>();

  /** The memos of `versions` of the model `key` with `uid`; memos of other versions are dropped. */
  of(key: ObjectKey, uid: string, versions: readonly string[]): (version: string) => UnavailableMemo {
    const id = keyString(key);
    let entry = this.byModel.get(id);
    if (!entry || entry.uid !== uid) {
      entry = { uid, versions: new Map() };
      this.byModel.set(id, entry);
    }
    const memos = entry.versions;
    for (const v of [...memos.keys()]) if (!versions.includes(v)) memos.delete(v);
    return (version) => {
      let memo = memos.get(version);
      if (!memo) {
        memo = {};
        memos.set(version, memo);
      }
      return memo;
    };
  }

  forget(key: ObjectKey): void {
    this.byModel.delete(keyString(key));
  }

  /** Memos held over all models (for tests). */
  size(): number {
    let n = 0;
    for (const e of this.byModel.values()) n += e.versions.size;
    return n;
  }
}

export interface Observed {
  /** The model's Deployments (carrying its label AND controlled by its uid). */
  deployments: KubeObject[];
  health: Record<string, VersionHealth>;
  verdicts: Record<string, Verdict>;
  /** Failover and Suspend requested by the model's ValidationPolicies. */
  policy: PolicyRequests;
}

/** Gathers, from the cache, everything the decision reads about `model` (a parsed MedModel with its uid). */
export function gather(cache: Cache, model: MedModel, memos: UnavailableMemos, now: number): Observed {
  const namespace = model.metadata.namespace ?? "";
  const name = model.metadata.name ?? "";
  const names = model.spec.versions.map((v) => v.name);
  const selector = { [LABEL.model]: name };
  const deployments = listOwned<DeploymentLike>(cache, Kinds.Deployment, model as KubeObject, {
    labels: selector,
  });
  // Pods belong to ReplicaSets, not to the model: the label says whose they are.
  const pods = cache.list<PodLike>(Kinds.Pod, { namespace, labels: selector });
  const memoOf = memos.of({ namespace, name }, model.metadata.uid ?? "", names);
  const health: Record<string, VersionHealth> = {};
  for (const v of names) {
    const dep = deployments.find((d) => d.metadata?.labels?.[LABEL.version] === v);
    const vpods = pods.filter((p) => p.metadata?.labels?.[LABEL.version] === v);
    health[v] = observeVersion(dep, vpods, memoOf(v), now);
  }
  const policies = policiesFor(name, cache.list(ValidationPolicyKind, { namespace }));
  return { deployments, health, verdicts: verdictsFor(names, policies), policy: policyRequestsFor(policies) };
}
