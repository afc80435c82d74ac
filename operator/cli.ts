import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { z } from "zod";
import { EXIT } from "../cli/exit-codes.ts";
import { controllers } from "./controllers.ts";
import { Manager, defaultIdentity } from "./manager.ts";

const HELP = `Usage: medmlops operator [options]

Runs the MedMLOps control plane: informers, work queues and the registered controllers.

Options:
  --kubeconfig FILE        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster service account)
  --namespace NS           watch only this namespace (default: all namespaces)
  --leader-elect           run controllers only while holding the Lease (for more than one replica)
  --lease-namespace NS     namespace of the Lease (default: --namespace, $POD_NAMESPACE, the pod's namespace, "default")
  --lease-name NAME        name of the Lease (default: medmlops-operator)
  --metrics-port PORT      port for /healthz, /readyz and /metrics (default: 8080; 0 = any free port)
  --sidecar-image IMAGE    default image for the inference sidecar container (default: $MEDMLOPS_SIDECAR_IMAGE)
  --log-level LEVEL        trace|debug|info|warn|error (default: $LOG_LEVEL or info)
  -h, --help               show this help
`;

const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
const DEFAULT_SIDECAR_IMAGE = "ghcr.io/medmlops/medmlops:0.1.0";

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label")
  .max(63);

const Flags = z.object({
  kubeconfig: z.string().min(1).optional(),
  namespace: dnsLabel.optional(),
  "leader-elect": z.boolean().default(false),
  "lease-namespace": dnsLabel.optional(),
  "lease-name": dnsLabel.default("medmlops-operator"),
  "metrics-port": z.coerce.number().int().min(0).max(65535).default(8080),
  "sidecar-image": z.string().min(1).optional(),
  "log-level": z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).optional(),
});

export type OperatorFlags = z.infer<typeof Flags>;

/** Parses and validates the flags; throws a usage error message on bad input. */
export function parseFlags(argv: string[]): OperatorFlags | "help" {
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
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const { help: _h, ...rest } = values;
  const parsed = Flags.safeParse(rest);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; "));
  }
  return parsed.data;
}

function leaseNamespace(flags: OperatorFlags): string {
  if (flags["lease-namespace"]) return flags["lease-namespace"];
  if (flags.namespace) return flags.namespace;
  if (process.env["POD_NAMESPACE"]) return process.env["POD_NAMESPACE"];
  try {
    return readFileSync(SA_NAMESPACE_FILE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
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
    level: flags["log-level"] ?? process.env["LOG_LEVEL"] ?? "info",
    base: { service: "medmlops-operator" },
  });
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

  const manager = new Manager({
    kubeConfig: kc,
    log,
    controllers,
    metricsPort: flags["metrics-port"],
    config: {
      namespace: flags.namespace,
      sidecarImage: flags["sidecar-image"] ?? process.env["MEDMLOPS_SIDECAR_IMAGE"] ?? DEFAULT_SIDECAR_IMAGE,
      identity: defaultIdentity(),
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
  return code === 0 ? EXIT.ok : EXIT.failure;
}
