/**
 * Pure builders of a MedModel's children, as full objects for server-side apply: per version a Deployment and
 * a Service `<model>-<version>` (and a PodDisruptionBudget `<model>-<version>` while it runs more than one
 * replica), the stable Service `<model>` clients use, and the ConfigMap `<model>-signature` (each version's
 * signature and the stop-button control file). No I/O; the controller applies what this returns.
 */
import { createHash } from "node:crypto";
import { type MedModel, type MedModelVersion, SERVING_TLS_KEYS } from "../../crds/index.ts";
import { canonicalJson, type KubeObject, MANAGED_BY_LABEL, ownerReference } from "../runtime/index.ts";
import type { Decision } from "./types.ts";

export const LABEL = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: MANAGED_BY_LABEL,
  model: "medmlops.io/model",
  version: "medmlops.io/version",
} as const;

export const PATHS = {
  modelDir: "/models",
  model: "/models/model.onnx",
  signatureDir: "/etc/medmlops/signature",
  signature: "/etc/medmlops/signature/signature.json",
  controlDir: "/etc/medmlops/control",
  control: "/etc/medmlops/control/control.json",
  pvcRoot: "/sources/pvc",
  configMapRoot: "/sources/configmap",
  /** The de-identification key Secret (pseudonyms, UIDs, date shifts); the deid library reads it here (deid/key.ts). */
  deidKeyDir: "/var/run/secrets/medmlops/deid",
  /** The case-id key Secret (spec.serving.caseIdKeySecretRef): a second key with one purpose (case-id.ts). */
  caseIdKeyDir: "/var/run/secrets/medmlops/case-id",
  /** The CA bundle of an https:// monitor (from the model's ConfigMap): the sidecar's --monitor-ca. */
  monitorCaDir: "/etc/medmlops/monitor-ca",
  monitorCa: "/etc/medmlops/monitor-ca/ca.crt",
  /** The serving certificate Secret (spec.serving.tls.secretName): tls.crt, tls.key and, for mtls, ca.crt. */
  tlsDir: "/var/run/secrets/medmlops/tls",
  /** The bearer token Secret key (spec.serving.tls.tokenSecretRef), projected as the file `token`. */
  tokenDir: "/var/run/secrets/medmlops/token",
  token: "/var/run/secrets/medmlops/token/token",
} as const;

export const SIDECAR_PORT = 8080;
/** The sidecar's metrics port (GET /metrics only, plain HTTP): the chart's PodMonitor scrapes the port named `metrics`. */
export const METRICS_PORT = 9090;
export const SERVICE_PORT = 80;
/** The Services' port when the model serves TLS (spec.serving.tls): https:// URLs need no port. */
export const SERVICE_TLS_PORT = 443;

/** The Services' port for a model: 443 with spec.serving.tls, 80 without. */
export const servicePort = (model: MedModel): number =>
  model.spec.serving.tls ? SERVICE_TLS_PORT : SERVICE_PORT;

export interface BuildOptions {
  /** Default sidecar image (operator flag --sidecar-image); spec.serving.image overrides it per model. */
  sidecarImage: string;
  /** The monitor's URL (operator flag --monitor-url): each sidecar sends its records there. */
  monitorUrl?: string | undefined;
  /**
   * The PEM CA bundle of an https:// monitor (the operator's own --monitor-ca file): put into the model's
   * ConfigMap and handed to the sidecar as --monitor-ca, so model pods trust the monitor the operator trusts.
   */
  monitorCa?: string | undefined;
}

export const deploymentName = (model: string, version: string) => `${model}-${version}`;
export const versionServiceName = deploymentName;
export const configMapName = (model: string) => `${model}-signature`;
export const signatureKey = (version: string) => `signature-${version}.json`;
/** The Secret (and cert-manager Certificate) of a certificate the operator has issued for the model (issued-tls.ts). */
export const issuedSecretName = (model: string) => `${model}-serving-tls`;
export const CONTROL_KEY = "control.json";
export const MONITOR_CA_KEY = "monitor-ca.crt";

/** The CA bundle model pods get: only for an https:// monitor the operator was given a CA for. */
export function podMonitorCa(opts: Pick<BuildOptions, "monitorUrl" | "monitorCa">): string | undefined {
  return opts.monitorUrl?.startsWith("https://") && opts.monitorCa ? opts.monitorCa : undefined;
}

export function modelLabels(model: string): Record<string, string> {
  return {
    [LABEL.name]: "medmlops-model",
    [LABEL.instance]: model,
    [LABEL.managedBy]: "medmlops",
    [LABEL.model]: model,
  };
}

export function versionLabels(model: string, version: string): Record<string, string> {
  return { ...modelLabels(model), [LABEL.version]: version };
}

/** The stable Service's selector: the serving version, or every running version while a canary splits traffic. */
export function stableSelector(
  model: string,
  decision: Pick<Decision, "servingVersion" | "splitTraffic">,
): Record<string, string> {
  return decision.splitTraffic
    ? { [LABEL.model]: model }
    : { [LABEL.model]: model, [LABEL.version]: decision.servingVersion };
}

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Child names must be Service names (DNS-1035 labels, ≤ 63) and label values (≤ 63): check before applying so
 * the user gets one clear message instead of an API error per child.
 */
export function nameProblems(model: MedModel): string[] {
  const name = model.metadata.name!;
  const problems: string[] = [];
  if (!DNS_1035.test(name) || name.length > 63) {
    problems.push(
      `model name must be a DNS-1035 label of at most 63 characters (it names the stable Service)`,
    );
  }
  for (const v of model.spec.versions) {
    const child = deploymentName(name, v.name);
    if (child.length > 63)
      problems.push(`"<model>-<version>" is longer than 63 characters for version ${v.name}`);
  }
  return problems;
}

interface Source {
  volume?: Record<string, unknown>;
  mount?: { name: string; mountPath: string; readOnly: true };
}

/** The volume an init container needs to read a pvc:// or configmap:// source (https:// needs none). */
export function sourceVolume(uri: string, index: number): Source {
  const m = /^(pvc|configmap):\/\/([^/]+)\//.exec(uri);
  if (!m) return {};
  const [, scheme, ref] = m as unknown as [string, "pvc" | "configmap", string];
  const name = `src-${index}`;
  if (scheme === "pvc") {
    return {
      volume: { name, persistentVolumeClaim: { claimName: ref, readOnly: true } },
      mount: { name, mountPath: `${PATHS.pvcRoot}/${ref}`, readOnly: true },
    };
  }
  return {
    volume: { name, configMap: { name: ref } },
    mount: { name, mountPath: `${PATHS.configMapRoot}/${ref}`, readOnly: true },
  };
}

export function effectiveSignature(model: MedModel, version: MedModelVersion): string {
  return canonicalJson(version.signature ?? model.spec.signature);
}

export function buildConfigMap(
  model: MedModel,
  decision: Pick<Decision, "control">,
  opts: Pick<BuildOptions, "monitorUrl" | "monitorCa"> = {},
): KubeObject {
  const name = model.metadata.name!;
  const data: Record<string, string> = { [CONTROL_KEY]: JSON.stringify(decision.control) };
  for (const v of model.spec.versions) data[signatureKey(v.name)] = effectiveSignature(model, v);
  const ca = podMonitorCa(opts);
  if (ca) data[MONITOR_CA_KEY] = ca;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: configMapName(name),
      namespace: model.metadata.namespace,
      labels: modelLabels(name),
      ownerReferences: [ownerReference(model)],
    },
    data,
  };
}

export function buildDeployment(
  model: MedModel,
  version: MedModelVersion,
  replicas: number,
  opts: BuildOptions,
): KubeObject {
  const name = model.metadata.name!;
  const { serving, deid } = model.spec;
  const image = serving.image ?? opts.sidecarImage;
  const labels = versionLabels(name, version.name);
  const source = sourceVolume(version.source.uri, 0);
  const keys = keyMounts(model, opts);
  const monitorCa = podMonitorCa(opts) !== undefined;
  const gpu = serving.device.type === "gpu";
  const providers = serving.executionProviders ?? (gpu ? ["cuda", "cpu"] : ["cpu"]);
  const resources = structuredClone(serving.resources ?? {}) as {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  if (gpu)
    resources.limits = { ...resources.limits, [serving.device.gpuResourceName]: serving.device.gpuCount };

  const fetch = {
    name: "fetch-model",
    image,
    command: ["medmlops"],
    args: [
      "fetch-model",
      "--uri",
      version.source.uri,
      "--sha256",
      version.source.sha256,
      "--out",
      PATHS.model,
    ],
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "model", mountPath: PATHS.modelDir },
      { name: "tmp", mountPath: "/tmp" },
      ...(source.mount ? [source.mount] : []),
    ],
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    securityContext: containerSecurity,
  };
  const tls = servingTls(model);
  const probe = (path: string, failureThreshold: number) => ({
    // With TLS the kubelet probes over HTTPS (it neither verifies the certificate nor sends one; the health
    // routes stay open under every clientAuth mode).
    httpGet: { path, port: tls.portName, ...(tls.args.length > 0 ? { scheme: "HTTPS" } : {}) },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold,
  });
  const sidecar = {
    name: "sidecar",
    image,
    command: ["medmlops"],
    args: [
      "sidecar",
      ...["--model", PATHS.model, "--name", name, "--version", version.name],
      ...["--sha256", version.source.sha256, "--signature", PATHS.signature, "--control-file", PATHS.control],
      ...["--port", String(SIDECAR_PORT), "--execution-providers", providers.join(",")],
      ...["--metrics-port", String(METRICS_PORT)],
      ...["--max-batch-size", String(serving.batching.maxBatchSize)],
      ...["--max-queue-delay-ms", String(serving.batching.maxQueueDelayMs)],
      ...["--deid-mode", deid.mode],
      ...deid.options.flatMap((o) => ["--deid-option", o]),
      // Records are filed under the MedModel's namespace (the sidecar would otherwise fall back to "default").
      ...(opts.monitorUrl
        ? ["--monitor-url", opts.monitorUrl, "--monitor-namespace", String(model.metadata.namespace)]
        : []),
      // The site the records carry (per-site validation subgroups and retraining gates).
      ...(opts.monitorUrl && model.spec.site ? ["--site", model.spec.site] : []),
      ...(monitorCa ? ["--monitor-ca", PATHS.monitorCa] : []),
      ...tls.args,
    ],
    env: keys.env,
    ports: [
      { name: tls.portName, containerPort: SIDECAR_PORT, protocol: "TCP" },
      { name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" },
    ],
    startupProbe: probe("/v2/health/live", 60),
    livenessProbe: probe("/v2/health/live", 3),
    readinessProbe: probe("/v2/health/ready", 2),
    resources,
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "model", mountPath: PATHS.modelDir, readOnly: true },
      // The root filesystem is read-only; Node and ONNX Runtime may still want a scratch directory.
      { name: "tmp", mountPath: "/tmp" },
      { name: "signature", mountPath: PATHS.signatureDir, readOnly: true },
      { name: "control", mountPath: PATHS.controlDir, readOnly: true },
      ...(monitorCa ? [{ name: "monitor-ca", mountPath: PATHS.monitorCaDir, readOnly: true }] : []),
      ...keys.mounts,
      ...tls.mounts,
    ],
    securityContext: containerSecurity,
  };
  const selector = { [LABEL.model]: name, [LABEL.version]: version.name };
  const signatureHash = createHash("sha256").update(effectiveSignature(model, version)).digest("hex");
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: deploymentName(name, version.name),
      namespace: model.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(model)],
    },
    spec: {
      replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          // A changed signature restarts the pods; the control file is polled live, so it is not hashed here.
          annotations: { "medmlops.io/signature-sha256": signatureHash },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            // The project image's user (Dockerfile: uid/gid 10001); fsGroup makes the emptyDirs writable for it.
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [fetch],
          containers: [sidecar],
          volumes: [
            { name: "model", emptyDir: {} },
            { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            {
              name: "signature",
              configMap: {
                name: configMapName(name),
                items: [{ key: signatureKey(version.name), path: "signature.json" }],
              },
            },
            {
              name: "control",
              configMap: { name: configMapName(name), items: [{ key: CONTROL_KEY, path: "control.json" }] },
            },
            ...(monitorCa
              ? [
                  {
                    name: "monitor-ca",
                    configMap: {
                      name: configMapName(name),
                      items: [{ key: MONITOR_CA_KEY, path: "ca.crt" }],
                    },
                  },
                ]
              : []),
            ...keys.volumes,
            ...tls.volumes,
            ...(source.volume ? [source.volume] : []),
          ],
          ...(serving.nodeSelector ? { nodeSelector: serving.nodeSelector } : {}),
          ...(serving.tolerations ? { tolerations: serving.tolerations } : {}),
          ...(serving.affinity ? { affinity: serving.affinity } : {}),
          ...(spreads(model) ? { topologySpreadConstraints: [hostSpread(selector)] } : {}),
        },
      },
    },
  };
}

interface KeyMounts {
  env: { name: string; value: string }[];
  mounts: { name: string; mountPath: string; readOnly: true }[];
  volumes: Record<string, unknown>[];
}

/**
 * The key Secrets a version's pod mounts — one purpose per key, and only the keys its mode uses:
 * - the de-identification key (deid.keySecretRef): in DataToModel, required (the pod does not start without it:
 *   fail closed); in ModelToData only when records go to a monitor (they carry the patient's keyed pseudonym, the
 *   one ConsentRecords name), and optional there; otherwise not mounted at all;
 * - the case-id key (serving.caseIdKeySecretRef): in every mode, optional — without the Secret the sidecar
 *   serves with `case_id: null` (docs/security.md).
 * Each is its own volume with only its own Secret key projected, read through its own variable.
 */
export function keyMounts(model: MedModel, opts: Pick<BuildOptions, "monitorUrl">): KeyMounts {
  const { serving, deid } = model.spec;
  const out: KeyMounts = { env: [], mounts: [], volumes: [] };
  const add = (
    volume: string,
    dir: string,
    variable: string,
    ref: { name: string; key: string },
    optional: boolean,
  ) => {
    out.env.push({ name: variable, value: `${dir}/${ref.key}` });
    out.mounts.push({ name: volume, mountPath: dir, readOnly: true });
    out.volumes.push({
      name: volume,
      secret: {
        secretName: ref.name,
        items: [{ key: ref.key, path: ref.key }],
        defaultMode: 0o440,
        optional,
      },
    });
  };
  if (deid.mode === "DataToModel")
    add("deid-key", PATHS.deidKeyDir, "MEDMLOPS_DEID_KEY_FILE", deid.keySecretRef, false);
  else if (opts.monitorUrl)
    add("deid-key", PATHS.deidKeyDir, "MEDMLOPS_DEID_KEY_FILE", deid.keySecretRef, true);
  add("case-id-key", PATHS.caseIdKeyDir, "MEDMLOPS_CASE_ID_KEY_FILE", serving.caseIdKeySecretRef, true);
  return out;
}

interface ServingTlsPod {
  /** The sidecar's transport-security flags (common/tls/server.ts); empty without spec.serving.tls. */
  args: string[];
  mounts: { name: string; mountPath: string; readOnly: true }[];
  volumes: Record<string, unknown>[];
  /** The container port's name, which probes and Services refer to: https with TLS, http without. */
  portName: "http" | "https";
}

/**
 * spec.serving.tls in the pod: the certificate Secret mounted read-only with only the keys the mode reads
 * (tls.crt and tls.key; ca.crt only for mtls), the token Secret's one key only for token, and the flags that
 * point the sidecar at them. Not optional: a pod whose Secret is missing does not start (fail closed, never
 * plain HTTP by accident). A directory mount, not subPath, so the kubelet's updates of a rotated Secret reach
 * the files the sidecar re-reads every 2 s: a renewed certificate or token needs no rollout.
 */
export function servingTls(model: MedModel): ServingTlsPod {
  const tls = model.spec.serving.tls;
  if (!tls) return { args: [], mounts: [], volumes: [], portName: "http" };
  const { cert, key, clientCa } = SERVING_TLS_KEYS;
  const keys = [cert, key, ...(tls.clientAuth === "mtls" ? [clientCa] : [])];
  const out: ServingTlsPod = {
    args: [
      ...["--tls-cert", `${PATHS.tlsDir}/${cert}`, "--tls-key", `${PATHS.tlsDir}/${key}`],
      ...["--client-auth", tls.clientAuth],
      ...(tls.clientAuth === "mtls" ? ["--tls-client-ca", `${PATHS.tlsDir}/${clientCa}`] : []),
    ],
    mounts: [{ name: "serving-tls", mountPath: PATHS.tlsDir, readOnly: true }],
    volumes: [
      {
        name: "serving-tls",
        secret: {
          // Without secretName the certificate is the one the operator has issued (issued-tls.ts).
          secretName: tls.secretName ?? issuedSecretName(model.metadata.name!),
          items: keys.map((k) => ({ key: k, path: k })),
          defaultMode: 0o440,
          optional: false,
        },
      },
    ],
    portName: "https",
  };
  if (tls.clientAuth === "token" && tls.tokenSecretRef) {
    out.args.push("--auth-token-file", PATHS.token);
    out.mounts.push({ name: "serving-token", mountPath: PATHS.tokenDir, readOnly: true });
    out.volumes.push({
      name: "serving-token",
      secret: {
        secretName: tls.tokenSecretRef.name,
        items: [{ key: tls.tokenSecretRef.key, path: "token" }],
        defaultMode: 0o440,
        optional: false,
      },
    });
  }
  return out;
}

/**
 * Whether a model's pods spread over nodes: only when spec.serving.replicas > 1. Adding the constraint changes
 * the pod template, and a changed template restarts every pod of the Deployment; a single-replica model gains
 * nothing from spreading, so its pods are not restarted for it (e.g. on an operator upgrade). The model's
 * replicas decide, not the per-version replicas of the moment: a canary or a warm standby moves a version
 * between 0, 1 and n replicas, and toggling the template there would roll its pods at every step.
 */
export const spreads = (model: MedModel): boolean => (model.spec.serving.replicas ?? 1) > 1;

/** Spread over nodes, best effort: never leave a pod Pending because the cluster has too few nodes. */
function hostSpread(matchLabels: Record<string, string>) {
  return {
    topologyKey: "kubernetes.io/hostname",
    maxSkew: 1,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels },
  };
}

/**
 * A version's PodDisruptionBudget `<model>-<version>`: voluntary disruptions (node drains, cluster upgrades)
 * evict at most one of its pods at a time. Only for a Deployment of more than one replica (the caller asks):
 * with one replica, maxUnavailable 1 allows the eviction anyway, and minAvailable 1 would block drains forever.
 */
export function buildPodDisruptionBudget(model: MedModel, version: string): KubeObject {
  const name = model.metadata.name!;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: deploymentName(name, version),
      namespace: model.metadata.namespace,
      labels: versionLabels(name, version),
      ownerReferences: [ownerReference(model)],
    },
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { [LABEL.model]: name, [LABEL.version]: version } },
    },
  };
}

/** The versions that get a PodDisruptionBudget: those the decision runs with more than one replica. */
export function disruptionBudgetVersions(model: MedModel, decision: Pick<Decision, "replicas">): string[] {
  return model.spec.versions.map((v) => v.name).filter((v) => (decision.replicas[v] ?? 0) > 1);
}

const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

function service(
  model: MedModel,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: model.metadata.namespace, labels, ownerReferences: [ownerReference(model)] },
    spec: {
      type: "ClusterIP",
      selector,
      ports: [
        model.spec.serving.tls
          ? // appProtocol tells meshes and Gateways the backend speaks TLS.
            {
              name: "https",
              port: SERVICE_TLS_PORT,
              targetPort: "https",
              protocol: "TCP",
              appProtocol: "https",
            }
          : { name: "http", port: SERVICE_PORT, targetPort: "http", protocol: "TCP" },
      ],
    },
  };
}

export function buildVersionService(model: MedModel, version: string): KubeObject {
  const name = model.metadata.name!;
  return service(model, versionServiceName(name, version), versionLabels(name, version), {
    [LABEL.model]: name,
    [LABEL.version]: version,
  });
}

export function buildStableService(
  model: MedModel,
  decision: Pick<Decision, "servingVersion" | "splitTraffic">,
): KubeObject {
  const name = model.metadata.name!;
  return service(model, name, modelLabels(name), stableSelector(name, decision));
}

/**
 * Every child: the ConfigMap, the Deployments, the per-version Services, the stable Service, and the
 * PodDisruptionBudgets of the versions running more than one replica.
 */
export function buildChildren(model: MedModel, decision: Decision, opts: BuildOptions): KubeObject[] {
  return [
    buildConfigMap(model, decision, opts),
    ...model.spec.versions.map((v) => buildDeployment(model, v, decision.replicas[v.name] ?? 0, opts)),
    ...model.spec.versions.map((v) => buildVersionService(model, v.name)),
    buildStableService(model, decision),
    ...disruptionBudgetVersions(model, decision).map((v) => buildPodDisruptionBudget(model, v)),
  ];
}
