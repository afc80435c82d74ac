/**
 * Serving TLS by default: with the operator's `--serving-tls-issuer`, a MedModel that does not bring its own
 * certificate Secret (no spec.serving.tls, or spec.serving.tls without secretName) and does not opt out
 * (spec.serving.plainHttp) gets a cert-manager Certificate `<model>-serving-tls` for its Services, owned by the
 * MedModel. The operator never reads the issued Secret (it has no rights on Secrets): it reads only the
 * Certificate's Ready condition, and serves TLS — the existing spec.serving.tls path with the issued Secret — once
 * it is Ready. Until then (the gate below): a new model gets no Deployment (fail closed: never plain HTTP for a
 * model that should be TLS); a model already serving plain HTTP keeps its pods until the certificate is Ready; a
 * model already serving TLS stays TLS (a re-issue after a spec change never downgrades it). Pure.
 */
import type { MedModel, ServingTls } from "../../crds/index.ts";
import {
  type Condition,
  findCondition,
  type GVK,
  type KubeObject,
  ownerReference,
  setCondition,
  type ServingTlsIssuer,
  setKstatusConditions,
} from "../runtime/index.ts";
import { issuedSecretName, modelLabels, SERVICE_TLS_PORT, versionServiceName } from "./children.ts";
import { REASON } from "./reasons.ts";
import { CONDITION, type DecisionStatus } from "./types.ts";

export const CertificateKind: GVK = {
  group: "cert-manager.io",
  version: "v1",
  kind: "Certificate",
  plural: "certificates",
};

/** The issuer the operator names in every Certificate (`--serving-tls-issuer Kind/name`). */
export type IssuerRef = ServingTlsIssuer;

/** The Certificate and its Secret are both `<model>-serving-tls`. */
export { issuedSecretName };
export const certificateName = issuedSecretName;

/** The cluster DNS domain the names end in (kubelet's default). */
export const CLUSTER_DOMAIN = "cluster.local";

type ServingSpec = { tls?: ServingTls | undefined; plainHttp?: boolean | undefined };

/** Whether the model's serving certificate is the operator's to issue (a Certificate), given its issuer flag. */
export function wantsIssuedCertificate(serving: ServingSpec, issuer: IssuerRef | undefined): boolean {
  if (serving.plainHttp === true) return false;
  if (serving.tls) return serving.tls.secretName === undefined;
  return issuer !== undefined;
}

/** Every name a client may call the model by: the stable Service and each version's, short and qualified. */
export function certificateDnsNames(model: MedModel): string[] {
  const name = model.metadata.name!;
  const ns = model.metadata.namespace!;
  const services = [name, ...model.spec.versions.map((v) => versionServiceName(name, v.name))];
  return services.flatMap((s) => [s, `${s}.${ns}`, `${s}.${ns}.svc`, `${s}.${ns}.svc.${CLUSTER_DOMAIN}`]);
}

/** The model's Certificate: cert-manager issues `<model>-serving-tls` (tls.crt, tls.key, ca.crt) and renews it. */
export function buildCertificate(model: MedModel, issuer: IssuerRef): KubeObject {
  const name = model.metadata.name!;
  return {
    apiVersion: `${CertificateKind.group}/${CertificateKind.version}`,
    kind: CertificateKind.kind,
    metadata: {
      name: certificateName(name),
      namespace: model.metadata.namespace,
      labels: modelLabels(name),
      ownerReferences: [ownerReference(model)],
    },
    spec: {
      secretName: issuedSecretName(name),
      dnsNames: certificateDnsNames(model),
      usages: ["server auth", "digital signature", "key encipherment"],
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      issuerRef: { name: issuer.name, kind: issuer.kind, group: issuer.group },
    },
  } as KubeObject;
}

type CertificateLike = KubeObject & {
  status?: { conditions?: { type: string; status: string; observedGeneration?: number; message?: string }[] };
};

/**
 * Ready=True for the Certificate's current spec: a Ready condition observed for an older generation (before our
 * last change of its dnsNames) does not count.
 */
export function certificateReady(cert: KubeObject | undefined): boolean {
  const c = (cert as CertificateLike | undefined)?.status?.conditions?.find((x) => x.type === "Ready");
  if (c?.status !== "True") return false;
  const gen = cert?.metadata?.generation;
  return c.observedGeneration === undefined || gen === undefined || c.observedGeneration >= gen;
}

/** How the model's pods serve this reconcile. */
export type TlsGate =
  | { serve: "as-spec" }
  | { serve: "issued" }
  | { serve: "plain"; pending: Pending }
  | { serve: "hold"; pending: Pending };

export interface Pending {
  /** CertificatePending: waiting for cert-manager (Reconciling); CertificateUnavailable: nothing will (Stalled). */
  reason: typeof REASON.CertificatePending | typeof REASON.CertificateUnavailable;
  message: string;
}

export interface GateInput {
  serving: ServingSpec;
  model: string;
  issuer: IssuerRef | undefined;
  /** Whether the cluster serves cert-manager.io/v1 Certificates (discovery at operator start). */
  certificatesServed: boolean;
  certificate: KubeObject | undefined;
  /** What the model's pods serve now (observedScheme); undefined when none do. */
  observedScheme: "http" | "https" | undefined;
}

/**
 * What the model serves now: the stable Service's scheme (443 https, else http) — but only while a Deployment of
 * the model exists. A held model has Services on 443 and no pod; that must not read as "already serving TLS".
 */
export function observedScheme(
  stable: { spec?: { ports?: { port?: number }[] } } | undefined,
  deployments: number,
): "http" | "https" | undefined {
  if (!stable || deployments === 0) return undefined;
  return stable.spec?.ports?.[0]?.port === SERVICE_TLS_PORT ? "https" : "http";
}

export function tlsGate(i: GateInput): TlsGate {
  if (!wantsIssuedCertificate(i.serving, i.issuer)) return { serve: "as-spec" };
  const cert = certificateName(i.model);
  let pending: Pending;
  if (!i.issuer)
    pending = {
      reason: REASON.CertificateUnavailable,
      message: `${REASON.CertificateUnavailable}: spec.serving.tls names no secretName and the operator has no --serving-tls-issuer to issue one (name a Secret, or run the operator with an issuer)`,
    };
  else if (!i.certificatesServed)
    pending = {
      reason: REASON.CertificateUnavailable,
      message: `${REASON.CertificateUnavailable}: the cluster does not serve cert-manager.io/v1 Certificates (install cert-manager, then restart the operator; or set spec.serving.plainHttp for a mesh)`,
    };
  else if (certificateReady(i.certificate)) return { serve: "issued" };
  else
    pending = {
      reason: REASON.CertificatePending,
      message: `${REASON.CertificatePending}: waiting for Certificate ${cert} (${i.issuer.kind} ${i.issuer.name}) to be Ready`,
    };
  // Never downgrade: a model serving TLS keeps its issued Secret while the Certificate is re-issued.
  if (i.observedScheme === "https") return { serve: "issued" };
  if (i.observedScheme === "http")
    return {
      serve: "plain",
      pending: { ...pending, message: `${pending.message}; serving plain HTTP until then` },
    };
  return { serve: "hold", pending: { ...pending, message: `${pending.message}; no pod serves until then` } };
}

/**
 * The model as the builders and the decision should see it: with the issued Secret as spec.serving.tls
 * (clientAuth and token as the spec says), or without spec.serving.tls while it still serves plain HTTP.
 */
export function effectiveModel(model: MedModel, gate: TlsGate): MedModel {
  if (gate.serve === "as-spec") return model;
  const name = model.metadata.name!;
  const serving = { ...model.spec.serving };
  if (gate.serve === "plain") delete serving.tls;
  else serving.tls = { clientAuth: "none", ...serving.tls, secretName: issuedSecretName(name) };
  return { ...model, spec: { ...model.spec, serving } };
}

/**
 * The status while the gate waits: Progressing and kstatus Reconciling (CertificatePending) or Degraded and
 * Stalled (CertificateUnavailable); Ready False with the same reason while no pod may serve (hold), unless the
 * stop button already says why.
 */
export function gatedStatus(
  status: DecisionStatus,
  gate: TlsGate,
  generation: number,
  now: Date,
): DecisionStatus {
  if (gate.serve !== "hold" && gate.serve !== "plain") return status;
  const { reason, message } = gate.pending;
  const set = (cs: Condition[], type: string, value: boolean) =>
    setCondition(
      cs,
      { type, status: value ? "True" : "False", reason, message, observedGeneration: generation },
      now,
    );
  let conditions = [...(status.conditions ?? [])];
  const stalled = reason === REASON.CertificateUnavailable;
  if (stalled) conditions = set(conditions, CONDITION.Degraded, true);
  else conditions = set(conditions, CONDITION.Progressing, true);
  const ready = findCondition(conditions, CONDITION.Ready);
  const stopped = ready?.reason === REASON.Suspended || ready?.reason === REASON.PolicyBreach;
  if (gate.serve === "hold" && !stopped) conditions = set(conditions, CONDITION.Ready, false);
  if (!stopped)
    conditions = setKstatusConditions(
      conditions,
      { state: stalled ? "Stalled" : "Reconciling", reason, message },
      generation,
      now,
    );
  return { ...status, conditions };
}
