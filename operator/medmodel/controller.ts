/**
 * The MedModel controller: a thin reconciler over the runtime's toolkit. Each reconcile is six steps —
 * gather (observe.ts) → decide (decide.ts) → build (build.ts) → apply (OwnedChildren: apply, prune removed
 * versions) → status (StatusWriter, once) → events — and asks to be requeued when time-based work is pending.
 */
import type { MedModel } from "../../crds/index.ts";
import { MedModelKind, ValidationPolicyKind } from "../kinds.ts";
import {
  type ControllerFactory,
  type KubeObject,
  Kinds,
  MANAGED_BY_SELECTOR,
  MANAGED_PODS_VIEW,
  monitorOptions,
  type ObjectKey,
  OwnedChildren,
  ownerReference,
  StatusWriter,
} from "../runtime/index.ts";
import { MonitorClient } from "../../monitor/client.ts";
import { type AuditSink, MedModelAuditWriter } from "./audit-writer.ts";
import { buildDesired, type Desired } from "./build.ts";
import { type Refusal, refusals, refusedDecision } from "./admission.ts";
import { CONTROL_KEY, configMapName, LABEL, modelLabels } from "./children.ts";
import {
  buildCertificate,
  CertificateKind,
  certificateName,
  effectiveModel,
  gatedStatus,
  observedScheme,
  type TlsGate,
  tlsGate,
  wantsIssuedCertificate,
} from "./issued-tls.ts";
import { stopOf } from "./phases/conditions.ts";
import { policiesFor, policyRequestsFor } from "./validation.ts";
import { decide } from "./decide.ts";
import { HTTPRouteKind, httpRouteName } from "./httproute.ts";
import { invalidSpecStatus, parseModel } from "./invalid-spec.ts";
import { childForCache, gather, UnavailableMemos } from "./observe.ts";
import { ANNOTATIONS, type DecisionOptions, type DecisionStatus } from "./types.ts";

export { MedModelKind, ValidationPolicyKind };

export interface MedModelControllerOptions {
  decision?: Partial<DecisionOptions>;
  workers?: number;
  /** Where audit entries go; default the monitor at config.monitorUrl; null (or no monitor) writes none. */
  audit?: AuditSink | null;
  /** How soon pending audit entries are retried (default audit-writer.ts AUDIT_RETRY_MS). */
  auditRetryMs?: number;
}

/** The label every child and model pod carries (children.ts modelLabels; the runtime's shared pod view). */
export { MANAGED_BY_SELECTOR };

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function modelKeyOfLabeled(obj: KubeObject): ObjectKey[] {
  const model = obj.metadata?.labels?.[LABEL.model];
  const ns = obj.metadata?.namespace;
  return model && ns ? [{ namespace: ns, name: model }] : [];
}

function modelKeyOfPolicy(p: KubeObject): ObjectKey[] {
  const ref = (p as Obj).spec?.["modelRef"] as { name?: string } | undefined;
  return ref?.name && p.metadata?.namespace ? [{ namespace: p.metadata.namespace, name: ref.name }] : [];
}

export function medModelControllerWith(options: MedModelControllerOptions = {}): ControllerFactory {
  return (deps) => {
    const { cache, client, events, config } = deps;
    const gatewayApiServed = () => deps.served?.(HTTPRouteKind) ?? false;
    // Certificates are watched (and need rights) only when the operator issues serving certificates.
    const issuer = config.servingTlsIssuer;
    const certificatesServed = () => (issuer ? (deps.served?.(CertificateKind) ?? false) : false);
    const unavailable = new UnavailableMemos();
    const children = new OwnedChildren(cache, client);
    const statuses = new StatusWriter<DecisionStatus>(client);
    const auditSink =
      options.audit !== undefined
        ? options.audit
        : config.monitorUrl
          ? new MonitorClient(config.monitorUrl, monitorOptions(config))
          : null;
    const audit = auditSink ? new MedModelAuditWriter(auditSink, options.auditRetryMs) : undefined;

    /**
     * Applies what was built; prunes the route, the Deployments/Services of versions no longer in spec and the
     * PodDisruptionBudgets of versions down to one replica or gone.
     */
    async function applyDesired(
      key: ObjectKey,
      model: MedModel,
      desired: Desired,
      gate: TlsGate,
    ): Promise<void> {
      const owner = model as KubeObject;
      // Until an issued certificate is Ready a new model gets no pods at all (fail closed): its Services,
      // ConfigMap and Certificate only.
      const hold = gate.serve === "hold";
      const kept = hold
        ? desired.children.filter(([, gvk]) => gvk !== Kinds.Deployment && gvk !== Kinds.PodDisruptionBudget)
        : desired.children;
      const wantsCertificate = issuer !== undefined && wantsIssuedCertificate(model.spec.serving, issuer);
      if (wantsCertificate && certificatesServed())
        kept.push([buildCertificate(model, issuer), CertificateKind] as const);
      await children.apply(key, kept);
      // The model brings its own Secret now, or opted out: the Certificate goes (cert-manager keeps its Secret).
      if (certificatesServed() && !wantsCertificate) {
        await children.deleteOwned(key, owner, CertificateKind, {
          namespace: key.namespace,
          name: certificateName(key.name),
        });
      }
      // gatewayAPI removed from the spec: the route goes, the stable Service carries the traffic again.
      if (gatewayApiServed() && !desired.route) {
        await children.deleteOwned(key, owner, HTTPRouteKind, {
          namespace: key.namespace,
          name: httpRouteName(key.name),
        });
      }
      const labels = { [LABEL.model]: key.name };
      const named = (wanted: Set<string>) => (o: KubeObject) => wanted.has(o.metadata?.name ?? "");
      await children.prune(key, owner, Kinds.Deployment, { labels }, named(desired.wantedDeployments));
      await children.prune(key, owner, Kinds.Service, { labels }, named(desired.wantedServices));
      if (hold) return;
      await children.prune(
        key,
        owner,
        Kinds.PodDisruptionBudget,
        { labels },
        named(desired.wantedDisruptionBudgets),
      );
    }

    /**
     * A spec the admission re-check refuses (admission.ts): nothing of it is built or pruned; only the stop button
     * is honoured, on the ConfigMap the last accepted spec left (its signatures kept, control.json replaced).
     */
    async function refuse(
      key: ObjectKey,
      cached: Obj,
      model: MedModel,
      refused: Refusal[],
      previous: DecisionStatus,
      generation: number,
      now: Date,
    ): Promise<void> {
      const policy = policyRequestsFor(policiesFor(key.name, cache.list(ValidationPolicyKind, key)));
      const pressed = model.spec.suspend === true || policy.suspend !== undefined;
      const decision = refusedDecision({
        previous,
        refusals: refused,
        generation,
        now,
        stop: pressed ? stopOf(model.spec, cached.metadata?.annotations ?? {}, policy.suspend) : undefined,
      });
      const cm = cache.get<KubeObject & { data?: Record<string, string> }>(Kinds.ConfigMap, {
        namespace: key.namespace,
        name: configMapName(key.name),
      });
      const ours = cm?.metadata?.ownerReferences?.some((o) => o.uid === cached.metadata?.uid);
      if (decision.control && cm && ours) {
        const control: KubeObject = {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: configMapName(key.name),
            namespace: key.namespace,
            labels: modelLabels(key.name),
            ownerReferences: [ownerReference(model as KubeObject)],
          },
          data: { ...(cm.data ?? {}), [CONTROL_KEY]: JSON.stringify(decision.control) },
        } as KubeObject;
        await children.apply(key, [[control, Kinds.ConfigMap]]);
      }
      await statuses.write(cached, decision.status);
      for (const e of decision.events) events.record(cached, e.type, e.reason, e.action, e.note);
    }

    return {
      name: "medmodel",
      for: MedModelKind,
      owns: [Kinds.Deployment, Kinds.Service, Kinds.ConfigMap, Kinds.PodDisruptionBudget],
      // Clusters without the Gateway API CRDs still run the operator: the route is watched only when served.
      optionalOwns: [HTTPRouteKind, ...(issuer ? [CertificateKind] : [])],
      // Every child and pod we make carries it: the cache holds ours, not every Deployment, Service, ConfigMap,
      // PodDisruptionBudget and Pod of the namespaces it watches (cluster-wide by default).
      ownedView: { labelSelector: MANAGED_BY_SELECTOR, transform: childForCache },
      watches: [
        {
          gvk: Kinds.Pod,
          map: modelKeyOfLabeled,
          // shared with the RetrainJob controller's Job pods: one informer, one view (runtime/managed-pods.ts)
          ...MANAGED_PODS_VIEW,
        },
        { gvk: ValidationPolicyKind, map: modelKeyOfPolicy },
      ],
      workers: options.workers ?? 4,
      reconciler: {
        async reconcile(key, ctx) {
          const cached = cache.get<Obj>(MedModelKind, key);
          if (!cached || cached.metadata?.deletionTimestamp) {
            // Children go by garbage collection (controller owner references); forget our memos.
            unavailable.forget(key);
            children.forget(key);
            statuses.forget(key);
            return undefined;
          }
          const now = ctx.now();
          const generation = cached.metadata?.generation ?? 0;
          // Our own last status write may not be in the cache yet: never decide on a status older than it.
          const previous = statuses.current(cached);
          const parsed = parseModel(cached);
          if ("problems" in parsed) {
            await statuses.write(cached, invalidSpecStatus(previous, parsed.problems, generation, now));
            ctx.log.warn({ problems: parsed.problems }, "invalid MedModel spec");
            return undefined;
          }
          const { model } = parsed;
          const refused = refusals(model.spec, config.admission);
          if (refused.length > 0) {
            await refuse(key, cached, model, refused, previous, generation, now);
            ctx.log.warn(
              { refused: refused.map((r) => r.field) },
              "MedModel refused by the admission re-check",
            );
            return undefined;
          }

          const stable = cache.get<KubeObject & { spec?: { ports?: { port?: number }[] } }>(
            Kinds.Service,
            key,
          );
          const gate = tlsGate({
            serving: model.spec.serving,
            model: key.name,
            issuer,
            certificatesServed: certificatesServed(),
            certificate: certificatesServed()
              ? cache.get(CertificateKind, { namespace: key.namespace, name: certificateName(key.name) })
              : undefined,
            observedScheme: observedScheme(
              stable,
              cache.list(Kinds.Deployment, { namespace: key.namespace, labels: { [LABEL.model]: key.name } })
                .length,
            ),
          });
          // The model as it serves now: the issued Secret as spec.serving.tls, or plain HTTP until it is Ready.
          const serving = effectiveModel(model, gate);
          const observed = gather(cache, model, unavailable, now.getTime());
          const decision = decide({
            model: {
              name: key.name,
              namespace: key.namespace,
              generation,
              ...(cached.metadata?.annotations ? { annotations: cached.metadata.annotations } : {}),
            },
            spec: serving.spec,
            previous,
            health: observed.health,
            verdicts: observed.verdicts,
            policy: observed.policy,
            now: now.getTime(),
            ...(options.decision ? { options: options.decision } : {}),
            gatewayApiServed: gatewayApiServed(),
          });
          decision.status = gatedStatus(decision.status, gate, generation, now);
          const desired = buildDesired(serving, decision, {
            sidecarImage: config.sidecarImage,
            monitorUrl: config.monitorUrl,
            monitorCa: config.monitorCa?.(),
            gatewayApiServed: gatewayApiServed(),
          });
          await applyDesired(key, model, desired, gate);
          // The action is applied above, never held back by the audit; the status reporting it says whether its
          // audit entry is written yet (docs/audit.md, "MedModel entries").
          const audited = audit
            ? await audit.settle({
                model: {
                  namespace: key.namespace,
                  name: key.name,
                  uid: cached.metadata?.uid ?? "",
                  generation,
                  annotations: cached.metadata?.annotations ?? {},
                },
                spec: model.spec,
                previous,
                decision,
                now,
                log: ctx.log,
              })
            : { status: decision.status };
          await statuses.write(cached, audited.status);

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
          const requeue = [decision.requeueAfterMs, audited.retryAfterMs].filter((x) => x !== undefined);
          return requeue.length > 0 ? { requeueAfterMs: Math.min(...requeue) } : undefined;
        },
      },
    };
  };
}

export const medModelController: ControllerFactory = medModelControllerWith();
