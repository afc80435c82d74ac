/**
 * The MedModel controller: a thin reconciler. It gathers inputs from the cache (the MedModel, its Deployments
 * and pods, the ValidationPolicies naming it), calls the pure decision (decide.ts) and builders (children.ts),
 * applies the children with server-side apply, prunes children of removed versions, writes status once, emits
 * the decision's Events and asks to be requeued when time-based work is pending.
 */
import { createHash } from "node:crypto";
import { GROUP, type MedModel, MedModelSpecSchema, VERSION } from "../../crds/index.ts";
import {
  type ControllerFactory,
  type GVK,
  type KubeObject,
  Kinds,
  type ObjectKey,
  setCondition,
  statusBody,
} from "../runtime/index.ts";
import { buildChildren, deploymentName, LABEL, nameProblems } from "./children.ts";
import { decide } from "./decide.ts";
import { buildHTTPRoute, HTTPRouteKind, httpRouteName } from "./httproute.ts";
import { childForCache, observeVersion, podForCache, type UnavailableMemo } from "./observe.ts";
import { ANNOTATIONS, type DecisionOptions, type DecisionStatus, type VersionHealth } from "./types.ts";
import { policiesFor, verdictsFor } from "./validation.ts";

export const MedModelKind: GVK = { group: GROUP, version: VERSION, kind: "MedModel", plural: "medmodels" };
export const ValidationPolicyKind: GVK = {
  group: GROUP,
  version: VERSION,
  kind: "ValidationPolicy",
  plural: "validationpolicies",
};

export interface MedModelControllerOptions {
  decision?: Partial<DecisionOptions>;
  workers?: number;
}

/** The label every child and model pod carries (children.ts modelLabels). */
export const MANAGED_BY_SELECTOR = `${LABEL.managedBy}=medmlops`;

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function modelKeyOfLabeled(obj: KubeObject): ObjectKey[] {
  const model = obj.metadata?.labels?.[LABEL.model];
  const ns = obj.metadata?.namespace;
  return model && ns ? [{ namespace: ns, name: model }] : [];
}

/** Stable hash of what we applied, to skip re-applying unchanged children on every resync. */
function digest(obj: unknown): string {
  return createHash("sha256").update(JSON.stringify(obj)).digest("hex");
}

/** JSON with object keys sorted, so two equal statuses compare equal whatever order the server kept. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** resourceVersions are etcd revisions in practice; compare them only when both are plain integers. */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export function medModelControllerWith(options: MedModelControllerOptions = {}): ControllerFactory {
  return (deps) => {
    const { cache, client, events, config } = deps;
    const gatewayApiServed = () => deps.served?.(HTTPRouteKind) ?? false;
    const unavailable = new Map<string, UnavailableMemo>();
    /** What we last applied per child (hash + the generation/resourceVersion the server answered). */
    const applied = new Map<string, { hash: string; mark: string | undefined }>();
    /**
     * The status we last wrote per model uid, used while the cache has not caught up with our own write: to
     * decide on it, and to not write the same status twice.
     */
    const written = new Map<string, { resourceVersion: string | undefined; status: DecisionStatus }>();

    const childMark = (o: KubeObject | undefined) =>
      o === undefined
        ? undefined
        : o.kind === "Deployment"
          ? String(o.metadata?.generation ?? "")
          : String(o.metadata?.resourceVersion ?? "");

    async function applyChild(child: KubeObject, gvk: GVK): Promise<void> {
      const key = { namespace: child.metadata?.namespace ?? "", name: child.metadata?.name ?? "" };
      const id = `${gvk.kind}/${key.namespace}/${key.name}`;
      const hash = digest(child);
      const seen = applied.get(id);
      const cached = cache.get(gvk, key);
      if (seen && cached && seen.hash === hash && seen.mark === childMark(cached)) return;
      const result = await client.apply(child);
      applied.set(id, { hash, mark: childMark(result) });
    }

    return {
      name: "medmodel",
      for: MedModelKind,
      owns: [Kinds.Deployment, Kinds.Service, Kinds.ConfigMap],
      // Clusters without the Gateway API CRDs still run the operator: the route is watched only when served.
      optionalOwns: [HTTPRouteKind],
      // Every child and pod we make carries it: the cache holds ours, not every Deployment, Service, ConfigMap
      // and Pod of the namespaces it watches (cluster-wide by default).
      ownedView: { labelSelector: MANAGED_BY_SELECTOR, transform: childForCache },
      watches: [
        {
          gvk: Kinds.Pod,
          map: modelKeyOfLabeled,
          labelSelector: MANAGED_BY_SELECTOR,
          transform: podForCache,
        },
        {
          gvk: ValidationPolicyKind,
          map: (p) => {
            const name = (p as Obj).spec?.["modelRef"] as { name?: string } | undefined;
            return name?.name && p.metadata?.namespace
              ? [{ namespace: p.metadata.namespace, name: name.name }]
              : [];
          },
        },
      ],
      workers: options.workers ?? 4,
      reconciler: {
        async reconcile(key, ctx) {
          const cached = cache.get<Obj>(MedModelKind, key);
          if (!cached || cached.metadata?.deletionTimestamp) {
            // Children go by garbage collection (controller owner references); forget our memos.
            for (const k of [...unavailable.keys()])
              if (k.startsWith(`${key.namespace}/${key.name}/`)) unavailable.delete(k);
            return undefined;
          }
          const now = ctx.now();
          const uid = cached.metadata?.uid ?? "";
          const generation = cached.metadata?.generation ?? 0;

          // Our own last status write may not be in the cache yet: never decide on a status older than it.
          const mine = written.get(uid);
          const previous: DecisionStatus =
            mine && olderThan(cached.metadata?.resourceVersion, mine.resourceVersion)
              ? mine.status
              : ((cached.status ?? {}) as DecisionStatus);

          const parsed = MedModelSpecSchema.safeParse(cached.spec);
          const problems = parsed.success
            ? nameProblems({ ...cached, spec: parsed.data } as MedModel)
            : parsed.error.issues.slice(0, 5).map((i) => `spec.${i.path.join(".")}: ${i.message}`);
          if (!parsed.success || problems.length > 0) {
            const conditions = setCondition(
              setCondition(
                previous.conditions,
                {
                  type: "Ready",
                  status: "False",
                  reason: "InvalidSpec",
                  message: problems.join("; "),
                  observedGeneration: generation,
                },
                now,
              ),
              {
                type: "Degraded",
                status: "True",
                reason: "InvalidSpec",
                message: problems.join("; "),
                observedGeneration: generation,
              },
              now,
            );
            await client.applyStatus(statusBody(cached, { ...previous, conditions }, { succeeded: true }));
            ctx.log.warn({ problems }, "invalid MedModel spec");
            return undefined;
          }
          const model = { ...cached, spec: parsed.data } as MedModel;
          const names = model.spec.versions.map((v) => v.name);

          // ---- observe ----
          const selector = { [LABEL.model]: key.name };
          const owned = (o: KubeObject) =>
            o.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller);
          const deployments = cache
            .list(Kinds.Deployment, { namespace: key.namespace, labels: selector })
            .filter(owned);
          const pods = cache.list(Kinds.Pod, { namespace: key.namespace, labels: selector });
          const health: Record<string, VersionHealth> = {};
          for (const v of names) {
            const memoKey = `${key.namespace}/${key.name}/${uid}/${v}`;
            const memo = unavailable.get(memoKey) ?? {};
            unavailable.set(memoKey, memo);
            const dep = deployments.find((d) => d.metadata?.labels?.[LABEL.version] === v);
            const vpods = pods.filter((p) => p.metadata?.labels?.[LABEL.version] === v);
            health[v] = observeVersion(dep, vpods, memo, now.getTime());
          }
          const policies = policiesFor(
            key.name,
            cache.list(ValidationPolicyKind, { namespace: key.namespace }),
          );
          const verdicts = verdictsFor(names, policies);

          // ---- decide ----
          const decision = decide({
            model: {
              name: key.name,
              namespace: key.namespace,
              generation,
              ...(cached.metadata?.annotations ? { annotations: cached.metadata.annotations } : {}),
            },
            spec: model.spec,
            previous,
            health,
            verdicts,
            now: now.getTime(),
            ...(options.decision ? { options: options.decision } : {}),
            gatewayApiServed: gatewayApiServed(),
          });

          // ---- apply children, prune removed versions ----
          const children = buildChildren(model, decision, { sidecarImage: config.sidecarImage });
          const gvkOf = (o: KubeObject) =>
            o.kind === "Deployment"
              ? Kinds.Deployment
              : o.kind === "Service"
                ? Kinds.Service
                : Kinds.ConfigMap;
          // All at once: a pod whose ConfigMap is not there yet just waits for the kubelet to mount it, so
          // ordering would only add a round trip to every reconcile.
          const route = gatewayApiServed() ? buildHTTPRoute(model, decision) : undefined;
          await Promise.all([
            ...children.map((c) => applyChild(c, gvkOf(c))),
            ...(route ? [applyChild(route, HTTPRouteKind)] : []),
          ]);
          // gatewayAPI removed from the spec: the route goes, the stable Service carries the traffic again.
          if (gatewayApiServed() && !route) {
            const routeKey = { namespace: key.namespace, name: httpRouteName(key.name) };
            const existing = cache.get(HTTPRouteKind, routeKey);
            if (existing && owned(existing)) await client.delete(HTTPRouteKind, routeKey);
          }

          // Versions removed from spec.versions: their Deployment and Service go.
          const wantedDeployments = new Set(names.map((v) => deploymentName(key.name, v)));
          const wantedServices = new Set([key.name, ...wantedDeployments]);
          const services = cache
            .list(Kinds.Service, { namespace: key.namespace, labels: selector })
            .filter(owned);
          const stale = [
            ...deployments
              .filter((d) => !wantedDeployments.has(d.metadata?.name ?? ""))
              .map((d) => [Kinds.Deployment, d] as const),
            ...services
              .filter((d) => !wantedServices.has(d.metadata?.name ?? ""))
              .map((d) => [Kinds.Service, d] as const),
          ];
          for (const [gvk, obj] of stale) {
            await client.delete(gvk, { namespace: key.namespace, name: obj.metadata?.name ?? "" });
          }

          // ---- status once, events after it is recorded ----
          // Compared with the newest status we know of: a second event for the same model often comes before the
          // watch delivered our own write, and comparing with the cache alone wrote the same status twice.
          const body = statusBody(cached, { ...decision.status }, { succeeded: true });
          if (canonicalJson(body.status) !== canonicalJson(previous)) {
            const result = await client.applyStatus(body);
            written.set(uid, { resourceVersion: result.metadata?.resourceVersion, status: body.status });
          }
          // Only once the fail-back is recorded in status: removing the one-shot request first and then failing
          // to write status would leave the next reconcile without the request, and it would switch back.
          if (decision.consumeRetryAnnotation) {
            await client.mergePatch(MedModelKind, key, {
              metadata: { annotations: { [ANNOTATIONS.retryVersion]: null } },
            });
          }
          for (const e of decision.events) events.record(cached, e.type, e.reason, e.action, e.note);
          if (decision.events.length > 0) {
            ctx.log.info(
              { events: decision.events.map((e) => e.reason), serving: decision.servingVersion },
              "medmodel decision",
            );
          }
          return decision.requeueAfterMs !== undefined
            ? { requeueAfterMs: decision.requeueAfterMs }
            : undefined;
        },
      },
    };
  };
}

export const medModelController: ControllerFactory = medModelControllerWith();
