import type { KubeObject } from "./types.ts";

export interface StatusWithGeneration {
  observedGeneration?: number;
  [field: string]: unknown;
}

/**
 * Builds the body for `client.applyStatus` — the pattern every controller follows, once per reconcile:
 *
 *   const body = statusBody(model, nextStatus, { succeeded });
 *   await client.applyStatus(body);
 *
 * `observedGeneration` becomes the object's metadata.generation only when the reconcile succeeded (every child
 * converged or was applied without error); otherwise the previously observed generation is kept, so kstatus,
 * Argo CD and Flux keep reporting "in progress" instead of a false "current". Conditions are left to the caller
 * (conditions.ts).
 */
export function statusBody<S extends StatusWithGeneration>(
  owner: KubeObject,
  next: S,
  outcome: { succeeded: boolean },
): KubeObject & { status: S } {
  const previous = (owner["status"] as StatusWithGeneration | undefined)?.observedGeneration;
  const observedGeneration = outcome.succeeded ? owner.metadata?.generation : previous;
  const status = { ...next } as S;
  if (observedGeneration === undefined) delete status.observedGeneration;
  else status.observedGeneration = observedGeneration;
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    metadata: { name: owner.metadata?.name, namespace: owner.metadata?.namespace },
    status,
  };
}
