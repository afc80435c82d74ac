/**
 * The Helm chart's values as a zod schema; `npm run gen` writes it to charts/medmlops/values.schema.json,
 * which Helm checks on install, upgrade, lint and template — a typo in values fails before reaching a cluster.
 */
import { z } from "zod";

const Image = z.object({
  repository: z.string().min(1).describe("Image repository."),
  tag: z.string().describe("Image tag; empty means the chart's appVersion."),
});

const Labels = z.record(z.string(), z.string());
const Opaque = z.record(z.string(), z.unknown());

const Duration = z.string().regex(/^([0-9]+(\.[0-9]+)?(h|m|s))+$/);
const DnsName = z
  .string()
  .regex(/^[a-z0-9*]([-a-z0-9.]*[a-z0-9])?$/)
  .max(253);

const MonitorTls = z
  .strictObject({
    mode: z
      .enum(["helm", "cert-manager", "secret", "none"])
      .describe(
        "helm: the chart generates a CA and certificate (kept on upgrade); cert-manager: a Certificate; secret: an existing Secret; none: plain HTTP (for a mesh).",
      ),
    extraDnsNames: z.array(DnsName).describe("More DNS names for the certificate (helm, cert-manager)."),
    helm: z.strictObject({
      caDays: z.number().int().min(1).max(36500).describe("Validity of the generated CA (days)."),
      certDays: z.number().int().min(1).max(36500).describe("Validity of the generated certificate (days)."),
    }),
    certManager: z.strictObject({
      issuerRef: z
        .strictObject({
          name: z.string().describe("Issuer name; empty = a self-signed CA chain the chart creates."),
          kind: z.enum(["Issuer", "ClusterIssuer"]),
          group: z.string().min(1),
        })
        .describe("The cert-manager issuer of the monitor's certificate."),
      duration: Duration.describe("Certificate lifetime, e.g. 2160h."),
      renewBefore: Duration.describe("Renew this long before expiry."),
      caDuration: Duration.describe("Lifetime of the chart's own CA (empty issuerRef.name only)."),
    }),
    secret: z.strictObject({
      name: z.string().describe("Existing Secret with tls.crt and tls.key (mode secret)."),
      caKey: z.string().describe("Key of the CA bundle clients trust; empty = the public roots."),
    }),
  })
  .describe("The monitor's HTTPS: where its certificate comes from.");

const ModelServingTls = z
  .strictObject({
    mode: z
      .enum(["cert-manager", "none"])
      .describe(
        "cert-manager (default): every MedModel serves HTTPS with a certificate the operator has cert-manager issue (needs cert-manager.io/v1 in the cluster); none: plain HTTP unless a MedModel names its own Secret (for a service mesh).",
      ),
    issuerRef: z
      .strictObject({
        name: z
          .string()
          .regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/)
          .max(253)
          .describe("Your issuer; empty = the chart's own CA chain (ClusterIssuer <release>-serving-ca)."),
        kind: z.enum(["Issuer", "ClusterIssuer"]),
      })
      .describe("The cert-manager issuer (group cert-manager.io) of the models' certificates."),
    certManager: z.strictObject({
      clusterResourceNamespace: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .max(63)
        .describe(
          "cert-manager's cluster resource namespace (where a ClusterIssuer reads its CA Secret): the chart's CA Certificate goes there.",
        ),
      caDuration: Duration.describe("Lifetime of the chart's own CA (empty issuerRef.name only)."),
    }),
  })
  .describe("The models' HTTPS (docs/security.md): certificates issued per MedModel, or plain HTTP.");

export const ChartValuesSchema = z.strictObject({
  image: Image.extend({
    pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).describe("Kubernetes imagePullPolicy."),
  }).strict(),
  imagePullSecrets: z
    .array(z.object({ name: z.string().min(1) }))
    .describe("Secrets for private registries."),
  operator: z.strictObject({
    replicas: z.number().int().min(0).max(10).describe("Operator pods."),
    leaderElection: z.strictObject({
      enabled: z.boolean().describe("Run with --leader-elect (required for more than one replica)."),
      leaseName: z.string().min(1).max(63).describe("Lease name in the release namespace."),
    }),
    metricsPort: z.number().int().min(1024).max(65535).describe("Port of /metrics, /healthz, /readyz."),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).describe("pino log level."),
    watchNamespaces: z
      .array(z.string().min(1).max(63))
      .describe("Namespaces to reconcile; empty = all. When set, RBAC is Roles in these namespaces only."),
    retrainJobController: z
      .strictObject({
        enabled: z.boolean().describe("Run the RetrainJob controller (grants batch/Jobs)."),
        outputClaim: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
          .max(253)
          .describe("PVC the trainers write candidate models to."),
      })
      .describe("The RetrainJob controller's training Jobs."),
    resources: Opaque.describe("Operator container resources."),
    nodeSelector: Labels,
    tolerations: z.array(Opaque),
    affinity: Opaque,
    podAnnotations: Labels,
    extraEnv: z.array(Opaque).describe("Extra environment variables (core/v1 EnvVar)."),
  }),
  sidecar: z.strictObject({ image: Image.strict() }),
  modelServing: z.strictObject({ tls: ModelServingTls }),
  networkPolicy: z
    .strictObject({
      enabled: z.boolean().describe("Install the NetworkPolicies."),
      inferenceFrom: z
        .array(Opaque)
        .describe("NetworkPolicyPeers allowed to call the models (inference port); none = nobody."),
      inferenceFromOwnNamespace: z
        .boolean()
        .describe("Also let every pod of a model's own namespace call it (inference port)."),
      monitoringNamespace: z
        .string()
        .min(1)
        .max(63)
        .describe("The namespace Prometheus runs in: the only one that reaches the models' metrics port."),
    })
    .describe("Who may talk to the models, the monitor and the operator."),
  admission: z
    .strictObject({
      enabled: z.boolean().describe("Install the MedModel ValidatingAdmissionPolicy (Kubernetes 1.30+)."),
      allowedImagePrefixes: z
        .array(z.string().min(1))
        .describe("Prefixes spec.serving.image must start with; empty = the chart's sidecar repository."),
      allowedKeySecrets: z.array(z.string().min(1).max(253)).describe("Secrets deid.keySecretRef may name."),
      allowedCaseIdKeySecrets: z
        .array(z.string().min(1).max(253))
        .describe("Secrets serving.caseIdKeySecretRef may name (keep it apart from allowedKeySecrets)."),
      allowedModelClaims: z.array(z.string().min(1).max(253)).describe("Claims pvc:// sources may name."),
      allowedTlsSecrets: z
        .array(z.string().min(1).max(253))
        .describe("Secrets serving.tls may name (secretName, tokenSecretRef); empty = none."),
    })
    .describe("What a MedModel author may reference."),
  serviceAccount: z.strictObject({
    create: z.boolean(),
    name: z.string(),
    annotations: Labels,
  }),
  rbac: z.strictObject({ create: z.boolean() }),
  metrics: z.strictObject({
    service: z.strictObject({
      enabled: z.boolean(),
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]),
      port: z.number().int().min(1).max(65535),
    }),
    serviceMonitor: z.strictObject({
      enabled: z.boolean(),
      interval: z.string().regex(/^[0-9]+(ms|s|m|h)$/),
      labels: Labels,
    }),
    prometheusRule: z.strictObject({ enabled: z.boolean(), labels: Labels }),
    podMonitor: z.strictObject({
      enabled: z.boolean().describe("PodMonitor for the inference sidecars (Prometheus Operator CRDs)."),
      interval: z.string().regex(/^[0-9]+(ms|s|m|h)$/),
      labels: Labels,
    }),
  }),
  grafana: z.strictObject({
    dashboards: z.strictObject({
      enabled: z
        .boolean()
        .describe("ConfigMaps with the hospital and model dashboards for Grafana's sidecar."),
      label: z.string().min(1).describe("Label key the Grafana dashboard sidecar selects."),
      labelValue: z.string().describe("Its value."),
      namespace: z.string().describe("Namespace of the ConfigMaps; empty = the release namespace."),
      folder: z.string().describe("grafana_folder annotation; empty = none."),
    }),
  }),
  monitor: z.strictObject({
    enabled: z.boolean().describe("Deploy the monitor and hand its URL to the operator (--monitor-url)."),
    port: z
      .number()
      .int()
      .min(1024)
      .max(65535)
      .describe("Port of the monitor's HTTP API (/v1 and the probes; no /metrics)."),
    metricsPort: z
      .number()
      .int()
      .min(1024)
      .max(65535)
      .describe(
        "Port of the monitor's /metrics (GET /metrics only, TLS like the API, no credential); must differ from port.",
      ),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).describe("pino log level."),
    retentionDays: z
      .number()
      .int()
      .min(0)
      .max(36500)
      .describe(
        "Delete raw records (and their cases' annotations) whose time is older than this many days, hourly (MEDMLOPS_MONITOR_RETENTION_DAYS); roll-ups are kept. 0 = keep until erased.",
      ),
    tls: MonitorTls,
    storage: z.strictObject({
      type: z
        .enum(["embedded", "postgres"])
        .describe("embedded: PGlite on a PersistentVolumeClaim; postgres: an external PostgreSQL."),
      persistence: z.strictObject({
        size: z.string().min(1).describe("Size of the claim, e.g. 10Gi."),
        storageClassName: z.string().describe("StorageClass; empty = the cluster default."),
        existingClaim: z.string().describe("Use this claim instead of creating one."),
      }),
      postgres: z.strictObject({
        urlSecret: z.strictObject({
          name: z.string().describe("Secret with the postgres:// URL; required for type postgres."),
          key: z.string().min(1).describe("Key of the URL in the Secret."),
        }),
      }),
    }),
    replicas: z.number().int().min(0).max(10).describe("Monitor pods (more than one needs postgres)."),
    resources: Opaque.describe("Monitor container resources."),
    nodeSelector: Labels,
    tolerations: z.array(Opaque),
    affinity: Opaque,
    podAnnotations: Labels,
    serviceMonitor: z
      .strictObject({
        enabled: z
          .boolean()
          .describe("ServiceMonitor for the monitor's /metrics on metricsPort (Prometheus Operator CRDs)."),
        interval: z.string().regex(/^[0-9]+(ms|s|m|h)$/),
        labels: Labels,
      })
      .describe("Scraping the monitor: drift statistics, validation metrics, annotation backlog."),
  }),
  podSecurityContext: Opaque,
  securityContext: Opaque,
});

/** JSON Schema (draft-07, which Helm understands) for values.schema.json. */
export function chartValuesJsonSchema(): object {
  return z.toJSONSchema(ChartValuesSchema, { target: "draft-7", io: "input" });
}
