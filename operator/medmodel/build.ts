/**
 * The build step of a reconcile: every child the decision asks for, paired with the kind the runtime addresses
 * it by, and the names that must stay when removed versions are pruned. Pure.
 */
import type { MedModel } from "../../crds/index.ts";
import { type GVK, type KubeObject, Kinds } from "../runtime/index.ts";
import { type BuildOptions, buildChildren, deploymentName, disruptionBudgetVersions } from "./children.ts";
import { buildHTTPRoute, HTTPRouteKind } from "./httproute.ts";
import type { Decision } from "./types.ts";

export interface Desired {
  children: (readonly [KubeObject, GVK])[];
  /** Whether the model wants an HTTPRoute (spec asks for Gateway API routing and the cluster serves it). */
  route: boolean;
  wantedDeployments: Set<string>;
  wantedServices: Set<string>;
  /** PodDisruptionBudgets that stay: versions running more than one replica (the others are pruned). */
  wantedDisruptionBudgets: Set<string>;
}

const KIND_OF: Record<string, GVK> = {
  Deployment: Kinds.Deployment,
  Service: Kinds.Service,
  ConfigMap: Kinds.ConfigMap,
  PodDisruptionBudget: Kinds.PodDisruptionBudget,
};
const gvkOf = (o: KubeObject): GVK => {
  const gvk = KIND_OF[o.kind ?? ""];
  if (!gvk) throw new Error(`build: no kind for child ${o.kind}`);
  return gvk;
};

export function buildDesired(
  model: MedModel,
  decision: Decision,
  opts: BuildOptions & { gatewayApiServed: boolean },
): Desired {
  const name = model.metadata.name ?? "";
  const children = buildChildren(model, decision, {
    sidecarImage: opts.sidecarImage,
    monitorUrl: opts.monitorUrl,
    monitorCa: opts.monitorCa,
  }).map((c) => [c, gvkOf(c)] as const);
  const route = opts.gatewayApiServed ? buildHTTPRoute(model, decision) : undefined;
  if (route) children.push([route, HTTPRouteKind] as const);
  const wantedDeployments = new Set(model.spec.versions.map((v) => deploymentName(name, v.name)));
  return {
    children,
    route: route !== undefined,
    wantedDeployments,
    wantedServices: new Set([name, ...wantedDeployments]),
    wantedDisruptionBudgets: new Set(
      disruptionBudgetVersions(model, decision).map((v) => deploymentName(name, v)),
    ),
  };
}
