/**
 * The one cache view of Pods every controller shares. The cache keeps one informer per kind, so two controllers
 * that watch Pods must ask for the same label selector and transform — a MedModel's model pods and a RetrainJob's
 * Job pods both carry `app.kubernetes.io/managed-by=medmlops`, and both controllers read only metadata and status.
 * Before this view existed each controller declared its own and the operator refused to start with both enabled.
 */
import type { CacheView, KubeObject } from "./types.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** The label every child and pod the operator makes carries. */
export const MANAGED_BY_SELECTOR = `${MANAGED_BY_LABEL}=medmlops`;

/**
 * What the cache keeps of a pod: metadata (labels map it to its owner; deletionTimestamp) and status (phase,
 * conditions, container states and termination messages). The spec — containers, env, volumes, probes — is most
 * of a pod and no controller reads it; dropping it bounds the operator's memory at one small object per pod.
 */
export function podMetadataAndStatus(pod: KubeObject): KubeObject {
  const { apiVersion, kind, metadata, status } = pod as KubeObject & { status?: unknown };
  return { apiVersion, kind, metadata, ...(status ? { status } : {}) } as KubeObject;
}

/** Pass as a Pod watch's `labelSelector` and `transform` (both controllers must use this same object). */
export const MANAGED_PODS_VIEW = {
  labelSelector: MANAGED_BY_SELECTOR,
  transform: podMetadataAndStatus,
} as const satisfies CacheView;
