/**
 * Exact-weight canaries through a Gateway API HTTPRoute `<model>` (spec.rollout.trafficRouting.gatewayAPI).
 * Pure builder: the route's single rule sends to the per-version Services `<model>-<version>` with weights from
 * the decision — during a canary `100 - w` to the serving version and `w` to the canary, otherwise 100 to the
 * serving version. The serving version is what failover and the stop button act on, so they move the route too.
 * Replica counts are not changed by the route: the decision still gives the canary ceil(total·w/100) replicas
 * (at least one), enough to carry its exact share; the Gateway splits requests by weight, not by pod count.
 */
import type { MedModel } from "../../crds/index.ts";
import { type GVK, type KubeObject, ownerReference } from "../runtime/index.ts";
import { modelLabels, servicePort, versionServiceName } from "./children.ts";
import type { Decision } from "./types.ts";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const GATEWAY_VERSION = "v1";

export const HTTPRouteKind: GVK = {
  group: GATEWAY_GROUP,
  version: GATEWAY_VERSION,
  kind: "HTTPRoute",
  plural: "httproutes",
  namespaced: true,
};

/** The HTTPRoute's name: the model's, like the stable Service, so `kubectl get httproute <model>` finds it. */
export const httpRouteName = (model: string) => model;

export type GatewayApiRouting = NonNullable<
  NonNullable<MedModel["spec"]["rollout"]["trafficRouting"]>["gatewayAPI"]
>;

export function gatewayApiRouting(model: MedModel): GatewayApiRouting | undefined {
  return model.spec.rollout.trafficRouting?.gatewayAPI;
}

export interface BackendWeight {
  version: string;
  weight: number;
}

/**
 * The route's weights: serving gets `100 - w`, the canary `w` (both listed, even at 0 %, so the route keeps its
 * shape through the rollout); without a canary the serving version gets 100. The canary gets its weight only
 * once it has a ready replica — a Gateway answers 5xx for a backend without endpoints, and a replica-ratio split
 * would not send it requests either. While suspended every request goes to the serving version (whose sidecar
 * answers 503), so a frozen canary takes no traffic.
 */
export type RouteDecision = Pick<Decision, "servingVersion" | "status" | "control">;

export function routeWeights(decision: RouteDecision): BackendWeight[] {
  const canary = decision.status.canary;
  const serving = decision.servingVersion;
  if (!canary || canary.version === serving) return [{ version: serving, weight: 100 }];
  const canaryReady =
    (decision.status.versions?.find((v) => v.name === canary.version)?.readyReplicas ?? 0) > 0;
  const w =
    decision.control.suspended || !canaryReady ? 0 : Math.min(100, Math.max(0, Math.round(canary.weight)));
  return [
    { version: serving, weight: 100 - w },
    { version: canary.version, weight: w },
  ];
}

/** The full HTTPRoute for server-side apply, or undefined when the model does not ask for one. */
export function buildHTTPRoute(model: MedModel, decision: RouteDecision): KubeObject | undefined {
  const routing = gatewayApiRouting(model);
  if (!routing) return undefined;
  const name = model.metadata.name!;
  return {
    apiVersion: `${GATEWAY_GROUP}/${GATEWAY_VERSION}`,
    kind: "HTTPRoute",
    metadata: {
      name: httpRouteName(name),
      namespace: model.metadata.namespace,
      labels: modelLabels(name),
      ownerReferences: [ownerReference(model)],
    },
    spec: {
      parentRefs: routing.parentRefs.map((p) => ({
        group: GATEWAY_GROUP,
        kind: "Gateway",
        name: p.name,
        ...(p.namespace ? { namespace: p.namespace } : {}),
        ...(p.sectionName ? { sectionName: p.sectionName } : {}),
        port: routing.port,
      })),
      ...(routing.hostnames && routing.hostnames.length > 0 ? { hostnames: routing.hostnames } : {}),
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: routeWeights(decision).map((b) => ({
            group: "",
            kind: "Service",
            name: versionServiceName(name, b.version),
            port: servicePort(model),
            weight: b.weight,
          })),
        },
      ],
    },
  };
}
