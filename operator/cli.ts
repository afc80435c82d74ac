import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import {
  type ClientTlsFiles,
  MONITOR_CLIENT_OPTIONS,
  MONITOR_CLIENT_USAGE,
  monitorClientTls,
} from "../common/tls/client.ts";
import { controllersFor, registry } from "./controllers.ts";
import type { AdmissionAllowLists } from "./runtime/index.ts";
import { Manager, defaultIdentity } from "./manager.ts";
import { MonitorCaFile } from "./runtime/monitor-ca.ts";

export const HELP = `Usage: medmlops operator [options]

Runs the MedMLOps control plane: informers, work queues and the registered controllers.
Controllers: ${registry.map((r) => r.kind).join(", ")}

Options:
  --kubeconfig FILE        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster service account)
  --namespace NS[,NS...]   reconcile only these namespaces (default: $MEDMLOPS_WATCH_NAMESPACES, else all)
  --leader-elect           run controllers only while holding the Lease (for more than one replica)
  --lease-namespace NS     namespace of the Lease (default: --namespace, $POD_NAMESPACE, the pod's namespace, "default")
  --lease-name NAME        name of the Lease (default: $MEDMLOPS_LEASE_NAME or medmlops-operator)
  --metrics-port PORT      port for /healthz, /readyz and /metrics (default: 8080; 0 = any free port)
  --sidecar-image IMAGE    default image for the inference sidecar container (default: $MEDMLOPS_SIDECAR_IMAGE)
  --monitor-url URL        the monitor (medmlops monitor), e.g. http://medmlops-monitor.medmlops-system:8090: sidecars
                           send records there; enables the controllers that need it (ValidationPolicy, ...)
                           (default: $MEDMLOPS_MONITOR_URL; unset = no monitor)
${MONITOR_CLIENT_USAGE}
                           The operator presents them to the monitor; with an https:// --monitor-url the
                           --monitor-ca bundle also goes into each model's ConfigMap, and its sidecars trust it.
                           All four are re-read every 2 s: a rotated file is used without a restart
  --workers N              parallel reconciles per controller (default: $MEDMLOPS_WORKERS, else the controller's own)
  --reference-first-records N
                           freeze a version's drift reference from its first N served records when it has no
                           referenceProfile (default: $MEDMLOPS_REFERENCE_FIRST_RECORDS, else 500)
  --retrain-jobs true|false
                           run the RetrainJob controller (needs --monitor-url and rights on batch/Jobs; the chart's
                           operator.retrainJobController.enabled) (default: $MEDMLOPS_RETRAIN_JOBS, else false)
  --allowed-image-prefixes P[,P...]
  --allowed-key-secrets S[,S...]
  --allowed-case-id-key-secrets S[,S...]
  --allowed-model-claims C[,C...]
  --allowed-tls-secrets S[,S...]
                           the operator's re-check of the chart's admission policy (the same lists as its
                           admission.* values): a MedModel whose spec.serving.image, spec.deid.keySecretRef,
                           spec.serving.caseIdKeySecretRef, pvc:// source or spec.serving.tls Secret
                           (secretName, tokenSecretRef) is not listed gets Ready=False
                           (PolicyRefused) and a Warning Event, and nothing of it is applied. Each list set is
                           enforced (an empty value allows none); each list unset is not re-checked
                           (default: $MEDMLOPS_ALLOWED_IMAGE_PREFIXES, $MEDMLOPS_ALLOWED_KEY_SECRETS,
                           $MEDMLOPS_ALLOWED_CASE_ID_KEY_SECRETS, $MEDMLOPS_ALLOWED_MODEL_CLAIMS,
                           $MEDMLOPS_ALLOWED_TLS_SECRETS; unset = none)
  --serving-tls-issuer Issuer/NAME|ClusterIssuer/NAME
                           serve every MedModel over HTTPS by default: a MedModel without its own certificate
                           Secret (spec.serving.tls.secretName) and without spec.serving.plainHttp gets a
                           cert-manager Certificate <model>-serving-tls from this issuer, and its pods serve
                           HTTPS once it is Ready (needs cert-manager and rights on certificates.cert-manager.io;
                           the chart's modelServing.tls.mode cert-manager) (default: $MEDMLOPS_SERVING_TLS_ISSUER;
                           unset = a MedModel without spec.serving.tls serves plain HTTP)
  --log-level LEVEL        trace|debug|info|warn|error (default: $MEDMLOPS_LOG_LEVEL, $LOG_LEVEL or info)
  -h, --help               show this help
`;

const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
const DEFAULT_SIDECAR_IMAGE = "ghcr.io/medmlops/medmlops:0.1.0";

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label")
  .max(63);

/** A comma-separated allow-list; "" is the empty list (allow none), unset is no re-check. */
const allowList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n.length > 0),
  )
  .pipe(z.array(z.string().min(1).max(1024).regex(/^\S+$/, "must not contain spaces")).max(200));

const Flags = z.object({
  kubeconfig: z.string().min(1).optional(),
  namespace: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n.length > 0),
    )
    .pipe(z.array(dnsLabel).max(100))
    .transform((list) => (list.length > 0 ? [...new Set(list)] : undefined))
    .optional(),
  "leader-elect": z.boolean().default(false),
  "lease-namespace": dnsLabel.optional(),
  "lease-name": dnsLabel.default("medmlops-operator"),
  "metrics-port": z.coerce.number().int().min(0).max(65535).default(8080),
  "sidecar-image": z.string().min(1).optional(),
  "monitor-url": z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, "must be an http:// or https:// URL")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  workers: z.coerce.number().int().min(1).max(64).optional(),
  "reference-first-records": z.coerce.number().int().min(10).max(100_000).optional(),
  "retrain-jobs": z.enum(["true", "false"]).default("false"),
  "log-level": z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).optional(),
  "allowed-image-prefixes": allowList.optional(),
  "allowed-key-secrets": allowList.optional(),
  "allowed-case-id-key-secrets": allowList.optional(),
  "allowed-tls-secrets": allowList.optional(),
  "allowed-model-claims": allowList.optional(),
  "serving-tls-issuer": z
    .string()
    .regex(
      /^(Issuer|ClusterIssuer)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
      "must be Issuer/<name> or ClusterIssuer/<name> (a cert-manager.io issuer)",
    )
    .max(270)
    .transform((v) => {
      const [kind, name] = v.split("/") as ["Issuer" | "ClusterIssuer", string];
      return { kind, name, group: "cert-manager.io" };
    })
    .optional(),
});

export type OperatorFlags = z.infer<typeof Flags> & { monitorTls?: ClientTlsFiles };

/** Parses and validates the flags; throws a usage error message on bad input. */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorFlags | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      "leader-elect": { type: "boolean" },
      "lease-namespace": { type: "string" },
      "lease-name": { type: "string" },
      "metrics-port": { type: "string" },
      "sidecar-image": { type: "string" },
      "monitor-url": { type: "string" },
      workers: { type: "string" },
      "reference-first-records": { type: "string" },
      "retrain-jobs": { type: "string" },
      "log-level": { type: "string" },
      "allowed-image-prefixes": { type: "string" },
      "allowed-key-secrets": { type: "string" },
      "allowed-case-id-key-secrets": { type: "string" },
      "allowed-tls-secrets": { type: "string" },
      "allowed-model-claims": { type: "string" },
      "serving-tls-issuer": { type: "string" },
      ...MONITOR_CLIENT_OPTIONS,
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const {
    help: _h,
    "monitor-ca": _ca,
    "monitor-cert": _cert,
    "monitor-key": _key,
    "monitor-token-file": _token,
    ...rest
  } = values;
  // The chart passes its settings as environment variables; flags win over them.
  const fromEnv = {
    namespace: env["MEDMLOPS_WATCH_NAMESPACES"] || undefined,
    "lease-name": env["MEDMLOPS_LEASE_NAME"] || undefined,
    "monitor-url": env["MEDMLOPS_MONITOR_URL"] || undefined,
    workers: env["MEDMLOPS_WORKERS"] || undefined,
    "reference-first-records": env["MEDMLOPS_REFERENCE_FIRST_RECORDS"] || undefined,
    "retrain-jobs": env["MEDMLOPS_RETRAIN_JOBS"] || undefined,
    "log-level": env["MEDMLOPS_LOG_LEVEL"] || env["LOG_LEVEL"] || undefined,
    // Set but empty is an empty allow-list (the chart's empty list): only unset means no re-check.
    "allowed-image-prefixes": env["MEDMLOPS_ALLOWED_IMAGE_PREFIXES"],
    "allowed-key-secrets": env["MEDMLOPS_ALLOWED_KEY_SECRETS"],
    "allowed-case-id-key-secrets": env["MEDMLOPS_ALLOWED_CASE_ID_KEY_SECRETS"],
    "allowed-tls-secrets": env["MEDMLOPS_ALLOWED_TLS_SECRETS"],
    "allowed-model-claims": env["MEDMLOPS_ALLOWED_MODEL_CLAIMS"],
    "serving-tls-issuer": env["MEDMLOPS_SERVING_TLS_ISSUER"] || undefined,
  };
  const parsed = Flags.safeParse({ ...dropUndefined(fromEnv), ...dropUndefined(rest) });
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const monitorTls = monitorClientTls(values, env);
  if (monitorTls && !parsed.data["monitor-url"])
    throw new Error("--monitor-ca/--monitor-cert/--monitor-key/--monitor-token-file need --monitor-url");
  return { ...parsed.data, ...(monitorTls ? { monitorTls } : {}) };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The admission re-check's lists from the flags; undefined when none is set (no re-check). */
export function admissionOf(flags: OperatorFlags): AdmissionAllowLists | undefined {
  const lists: AdmissionAllowLists = {
    ...(flags["allowed-image-prefixes"] ? { imagePrefixes: flags["allowed-image-prefixes"] } : {}),
    ...(flags["allowed-key-secrets"] ? { keySecrets: flags["allowed-key-secrets"] } : {}),
    ...(flags["allowed-case-id-key-secrets"]
      ? { caseIdKeySecrets: flags["allowed-case-id-key-secrets"] }
      : {}),
    ...(flags["allowed-model-claims"] ? { modelClaims: flags["allowed-model-claims"] } : {}),
    ...(flags["allowed-tls-secrets"] ? { tlsSecrets: flags["allowed-tls-secrets"] } : {}),
  };
  return Object.keys(lists).length > 0 ? lists : undefined;
}

function leaseNamespace(flags: OperatorFlags): string {
  if (flags["lease-namespace"]) return flags["lease-namespace"];
  if (flags.namespace?.length === 1) return flags.namespace[0]!;
  if (process.env["POD_NAMESPACE"]) return process.env["POD_NAMESPACE"];
  try {
    return readFileSync(SA_NAMESPACE_FILE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}

/**
 * The controllers that copy the monitor CA into what they build, re-queued when it changes: the MedModel controller
 * re-applies every model's ConfigMap now rather than at the next resync (up to ~10 min); the kubelet then updates
 * the mounted file and the sidecars re-read it. (A RetrainJob reads the CA when it creates each Job.)
 */
export const CA_CONSUMERS = ["medmodel"] as const;

/**
 * The CA bundle model and RetrainJob pods get (only with an https:// monitor and --monitor-ca): read from the
 * operator's own mounted file now (throws, naming it, when unreadable) and re-read when it changes; a change calls
 * `requeue` (the CA consumers) and is logged without the PEM.
 */
export function watchMonitorCa(
  flags: Pick<OperatorFlags, "monitor-url" | "monitorTls">,
  log: Logger,
  requeue: () => number,
  intervalMs?: number,
): MonitorCaFile | undefined {
  const file = flags.monitorTls?.caFile;
  if (!file || !flags["monitor-url"]?.startsWith("https://")) return undefined;
  return new MonitorCaFile(file, {
    ...(intervalMs ? { intervalMs } : {}),
    onChange: () =>
      log.info({ file, requeued: requeue() }, "--monitor-ca changed: re-applying it to the models"),
    onError: (message) =>
      log.error({ err: message }, "rotated --monitor-ca not applied; the previous CA stays in use"),
  });
}

export async function main(argv: string[]): Promise<number> {
  let flags: OperatorFlags | "help";
  try {
    flags = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`medmlops operator: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (flags === "help") {
    process.stdout.write(HELP);
    return EXIT.ok;
  }

  const log = pino({
    level: flags["log-level"] ?? "info",
    base: { service: "medmlops-operator" },
  });
  let manager: Manager | undefined;
  let monitorCa: MonitorCaFile | undefined;
  try {
    monitorCa = watchMonitorCa(flags, log, () => manager?.requeueAll(CA_CONSUMERS) ?? 0);
  } catch (err) {
    log.error(
      { file: flags.monitorTls?.caFile, err: err instanceof Error ? err.message : String(err) },
      "cannot read --monitor-ca",
    );
    return EXIT.failure;
  }
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error("no current cluster in the kubeconfig");
  } catch (err) {
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      "cannot load Kubernetes configuration",
    );
    return EXIT.failure;
  }

  manager = new Manager({
    kubeConfig: kc,
    log,
    controllers: controllersFor({
      monitorUrl: flags["monitor-url"],
      retrainJobs: flags["retrain-jobs"] === "true",
    }),
    metricsPort: flags["metrics-port"],
    config: {
      namespace: flags.namespace?.length === 1 ? flags.namespace[0] : undefined,
      namespaces: flags.namespace,
      sidecarImage: flags["sidecar-image"] ?? process.env["MEDMLOPS_SIDECAR_IMAGE"] ?? DEFAULT_SIDECAR_IMAGE,
      ...(flags["monitor-url"] ? { monitorUrl: flags["monitor-url"] } : {}),
      ...(flags.monitorTls ? { monitorTls: flags.monitorTls } : {}),
      ...(monitorCa ? { monitorCa: () => monitorCa?.current() } : {}),
      identity: defaultIdentity(),
      ...(admissionOf(flags) ? { admission: admissionOf(flags) } : {}),
      ...(flags["serving-tls-issuer"] ? { servingTlsIssuer: flags["serving-tls-issuer"] } : {}),
      ...(flags.workers ? { workers: flags.workers } : {}),
      ...(flags["reference-first-records"]
        ? { referenceFirstRecords: flags["reference-first-records"] }
        : {}),
    },
    leaderElection: flags["leader-elect"]
      ? { namespace: leaseNamespace(flags), name: flags["lease-name"] }
      : undefined,
  });

  const onSignal = (signal: string) => {
    log.info({ signal }, "signal received");
    void manager.stop();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  try {
    await manager.start();
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, "operator failed to start");
    await manager.stop();
    return EXIT.failure;
  }
  const code = await manager.done;
  monitorCa?.stop();
  return code === 0 ? EXIT.ok : EXIT.failure;
}
