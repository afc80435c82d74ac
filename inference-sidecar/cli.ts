/**
 * `medmlops sidecar`: serve one ONNX model. Startup order: listen (liveness answers at once), verify the
 * digest, load, then ready. A digest mismatch or load failure is never ready and exits non-zero.
 * SIGTERM/SIGINT: not ready, drain in-flight requests, exit 0.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import {
  type ClientTlsFiles,
  MONITOR_CLIENT_OPTIONS,
  MONITOR_CLIENT_USAGE,
  monitorClientTls,
} from "../common/tls/client.ts";
import {
  SERVER_SECURITY_OPTIONS,
  SERVER_SECURITY_USAGE,
  type ServerSecurity,
  ServerSecurityFlags,
  serverSecurity,
  withSecurityEnv,
} from "../common/tls/server.ts";
import { autoIntraOpThreads } from "./cpu-budget.ts";
import { DEID_OPTION_NAMES, type DeidKey, loadKey } from "../deid/index.ts";
import { caseIdKeyFromEnv } from "./case-id.ts";
import { type DeidGate, deidGate } from "./deid-gate.ts";
import { ControlWatcher } from "./control.ts";
import { loadCodecs } from "./dicom/pixels.ts";
import { DigestMismatchError, type LoadedModel, loadModel } from "./model.ts";
import { DEFAULT_METRICS_PORT } from "./metrics-server.ts";
import { MonitorEmitter } from "./monitor-emitter.ts";
import { Sidecar, type SidecarMonitor } from "./server.ts";
import { Signature } from "./signature.ts";
import { WarmUpError, warmUp } from "./warm-up.ts";

export const USAGE = `usage: medmlops sidecar --model F.onnx --name N [options]
  --model F.onnx              the ONNX model file (required)
  --name N                    model name served under /v2/models/N (required)
  --version V                 model version (default "1")
  --sha256 H                  expected sha256 of the model file; mismatch refuses to start
  --signature F.json          signature (JSON or YAML: inputs, DICOM preprocessing, outputs, labels); default: from the model
  --port P                    inference port: OIP v2, probes, /v2 (default 8080)
  --metrics-port P            metrics port: GET /metrics only, plain HTTP, no credential (default 9090,
                              env MEDMLOPS_METRICS_PORT; 0 = any free port); the inference port serves no /metrics
  --host H                    listen address of both ports (default 0.0.0.0)
  --max-batch-size B          dynamic batching: most items per run (default 8)
  --max-queue-delay-ms D      dynamic batching: longest wait for a batch to fill (default 0)
  --execution-providers L     comma list tried in order, CPU last (default cpu; e.g. cuda,cpu)
  --control-file F            JSON {"suspended": bool, "reason"?: string}, polled every 2 s
  --body-limit-mb M           largest request body (default 64)
  --request-timeout-ms T      longest infer request, and longest a client may take to send its headers and body (default 30000)
  --max-connections C         open connections beyond which new ones are refused (default 1024)
  --max-input-mb M            largest model input one DICOM request may build: frames × target size × 4 bytes (default 32)
  --max-decoded-mb M          most decoded pixel data the instances of one DICOM request may declare; also caps inflating deflated files (default 256)
  --max-queue Q               waiting requests beyond which new ones get 503 OVERLOADED (default 256)
  --shutdown-grace-ms G       longest drain on SIGTERM (default 20000)
  --deid-mode M               ModelToData (default) or DataToModel: de-identify every DICOM instance first
                              (DataToModel runs the burned-in text check: 1 at a time, 8 waiting, then 503 DEID_BUSY)
  --deid-option NAME          a PS3.15 profile option for DataToModel (repeatable), e.g. CleanDescriptors
  --keep-dir D                keep each DICOM case (after de-identification) under D for monitoring
  --monitor-url URL           send one record per answered request to the monitor (batched, async, bounded)
${MONITOR_CLIENT_USAGE}
  --monitor-batch N           most records per POST to the monitor (default 500)
  --monitor-queue N           most records held while the monitor is down; oldest dropped first (default 10000)
  --monitor-namespace NS      namespace the records are filed under (default $POD_NAMESPACE, else "default")
  --site S                    site name carried by every record (the MedModel's site)
  --inference-thread T        worker (default: onnxruntime runs off the event loop) or main
  --intra-op-threads N        onnxruntime threads per run, or auto (default: the container's CPU limit, else all cores)
  --spin-wait                 let onnxruntime threads busy-wait between operators (default off; see docs/sidecar.md)
  --warmup-runs N             runs on zero inputs before ready; a failing run keeps the model from ever being ready (default 2, 0 = none)
  --log-level L               pino level (default info)
${SERVER_SECURITY_USAGE}
                              (open without a credential: /v2/health/live, /v2/health/ready and /v2; every
                              /v2/models/... route, inference and metadata, needs it; the metrics port is never TLS)
env: MEDMLOPS_CASE_ID_KEY or MEDMLOPS_CASE_ID_KEY_FILE: HMAC key for pseudonymous case ids (its own key, never
       the de-identification key; a named file that does not exist → serve with case_id null)
     MEDMLOPS_DEID_KEY, MEDMLOPS_DEID_KEY_FILE or the mounted Secret: de-identification key (DataToModel;
       with --monitor-url also the key of the patient pseudonym in records — without it records carry none)`;

const Flags = z.object({
  model: z.string({ error: "--model is required" }).min(1, "--model is required"),
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
      "--name must be 1-128 characters of letters, digits, '.', '_', '-'",
    ),
  version: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      "--version must be 1-64 characters of letters, digits, '.', '_', '-'",
    )
    .default("1"),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "--sha256 must be 64 hex digits")
    .optional(),
  signature: z.string().optional(),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  "metrics-port": z.coerce
    .number({ error: "--metrics-port must be a port number from 0 to 65535" })
    .int("--metrics-port must be a port number from 0 to 65535")
    .min(0, "--metrics-port must be a port number from 0 to 65535")
    .max(65535, "--metrics-port must be a port number from 0 to 65535")
    .default(DEFAULT_METRICS_PORT),
  host: z.string().default("0.0.0.0"),
  "max-batch-size": z.coerce.number().int().min(1).max(1024).default(8),
  "max-queue-delay-ms": z.coerce.number().min(0).max(10_000).default(0),
  "execution-providers": z.string().default("cpu"),
  "control-file": z.string().optional(),
  "body-limit-mb": z.coerce.number().positive().max(4096).default(64),
  "request-timeout-ms": z.coerce.number().int().positive().default(30_000),
  "max-queue": z.coerce.number().int().min(1).default(256),
  "max-connections": z.coerce.number().int().min(1).max(1_000_000).default(1024),
  "max-input-mb": z.coerce.number().positive().max(65536).default(32),
  "max-decoded-mb": z.coerce.number().positive().max(65536).default(256),
  "shutdown-grace-ms": z.coerce.number().int().min(0).default(20_000),
  "deid-mode": z.enum(["ModelToData", "DataToModel"]).default("ModelToData"),
  "deid-option": z.array(z.enum(DEID_OPTION_NAMES)).default([]),
  "keep-dir": z.string().optional(),
  "monitor-url": z.url({ protocol: /^https?$/, error: "--monitor-url must be an http(s) URL" }).optional(),
  "monitor-batch": z.coerce.number().int().min(1).max(10_000).default(500),
  "monitor-queue": z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  "monitor-namespace": z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "--monitor-namespace must be a DNS-1123 label")
    .optional(),
  site: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "--site must be 1-63 letters, digits, '.', '_', '-'")
    .optional(),
  "inference-thread": z.enum(["worker", "main"]).default("worker"),
  "intra-op-threads": z
    .union([z.literal("auto"), z.coerce.number().int().min(1).max(1024)], {
      error: "--intra-op-threads must be auto or a whole number from 1 to 1024",
    })
    .default("auto"),
  "spin-wait": z.boolean().default(false),
  "warmup-runs": z.coerce.number().int().min(0).max(100).default(2),
  "log-level": z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type SidecarFlags = z.infer<typeof Flags> & {
  /** TLS and client authentication of the sidecar's own port. */
  security: ServerSecurity;
  /** What the record emitter presents to an https:// or credential-checking monitor. */
  monitorTls?: ClientTlsFiles;
};

export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): SidecarFlags {
  const names = Object.keys(Flags.shape) as (keyof z.infer<typeof Flags>)[];
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(
        names.map((n) => [
          n,
          n === "deid-option"
            ? { type: "string", multiple: true }
            : n === "spin-wait"
              ? { type: "boolean" }
              : { type: "string" },
        ]),
      ),
      ...SERVER_SECURITY_OPTIONS,
      ...MONITOR_CLIENT_OPTIONS,
    },
    strict: true,
    allowPositionals: false,
  });
  const security: Record<string, unknown> = {};
  const monitorTlsValues: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (k in SERVER_SECURITY_OPTIONS) security[k] = v;
    else if (k in MONITOR_CLIENT_OPTIONS) monitorTlsValues[k] = v;
    else rest[k] = v;
  }
  if (rest["metrics-port"] === undefined && env.MEDMLOPS_METRICS_PORT)
    rest["metrics-port"] = env.MEDMLOPS_METRICS_PORT;
  const flags = Flags.parse(rest);
  if (flags.port !== 0 && flags["metrics-port"] === flags.port)
    throw new Error(`--metrics-port must differ from --port (both ${flags.port})`);
  const sec = ServerSecurityFlags.safeParse(withSecurityEnv(security, env));
  if (!sec.success) throw new Error(sec.error.issues.map((i) => i.message).join("; "));
  const monitorTls = monitorClientTls(monitorTlsValues, env);
  if (Object.values(monitorTlsValues).some((v) => v !== undefined) && !flags["monitor-url"])
    throw new Error("--monitor-ca/--monitor-cert/--monitor-key/--monitor-token-file need --monitor-url");
  return {
    ...flags,
    security: serverSecurity(sec.data),
    ...(monitorTls && flags["monitor-url"] ? { monitorTls } : {}),
  };
}

export function readSignatureFile(path: string): Signature {
  let raw: unknown;
  try {
    // JSON, or YAML (a superset) as a ConfigMap may hold it.
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`signature file ${path}: ${(e as Error).message}`);
  }
  const r = Signature.safeParse(raw);
  if (!r.success)
    throw new Error(
      `signature file ${path}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

/** The monitor emitter and what records need besides the request (namespace, site, pseudonym key). */
function monitorSink(flags: SidecarFlags, logger: Logger, registry: Registry): SidecarMonitor {
  let pseudonymKey: DeidKey | undefined;
  if (flags["deid-mode"] === "ModelToData") {
    try {
      pseudonymKey = loadKey();
    } catch {
      logger.info("no de-identification key mounted: monitor records carry no patient pseudonym");
    }
  }
  const namespace = flags["monitor-namespace"] ?? (process.env.POD_NAMESPACE || "default");
  return {
    emitter: new MonitorEmitter({
      url: flags["monitor-url"]!,
      ...(flags.monitorTls ? { tls: flags.monitorTls } : {}),
      batch: flags["monitor-batch"],
      capacity: flags["monitor-queue"],
      logger,
      registry,
      labels: { model: flags.name, version: flags.version },
    }),
    namespace,
    site: flags.site,
    pseudonymKey,
  };
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  let flags: SidecarFlags;
  let signature: Signature | undefined;
  try {
    flags = parseFlags(argv);
    if (flags.signature) signature = readSignatureFile(flags.signature);
  } catch (e) {
    const msg =
      e instanceof z.ZodError
        ? e.issues
            .map((i) => (i.message.startsWith("--") ? i.message : `--${i.path.join(".")}: ${i.message}`))
            .join("; ")
        : (e as Error).message;
    process.stderr.write(`medmlops sidecar: ${msg}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const logger = pino({
    level: flags["log-level"],
    base: { component: "sidecar", model: flags.name, version: flags.version },
  });
  let caseIdKey: ReturnType<typeof caseIdKeyFromEnv>;
  let deid: DeidGate;
  try {
    caseIdKey = caseIdKeyFromEnv();
    deid =
      flags["deid-mode"] === "DataToModel"
        ? deidGate("DataToModel", loadKey(), { options: flags["deid-option"] })
        : deidGate("ModelToData");
  } catch (e) {
    process.stderr.write(`medmlops sidecar: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  if (caseIdKey === null)
    logger.warn("the case id key file (MEDMLOPS_CASE_ID_KEY_FILE) does not exist: answers carry no case id");
  else if (!caseIdKey.persistent)
    logger.warn("no MEDMLOPS_CASE_ID_KEY(_FILE): case ids use a per-process key and change on restart");
  const registry = new Registry();
  let monitor: SidecarMonitor | undefined;
  let sidecar: Sidecar;
  try {
    monitor = flags["monitor-url"] ? monitorSink(flags, logger, registry) : undefined;
    sidecar = newSidecar(flags, { caseIdKey, deid, logger, monitor, registry });
  } catch (e) {
    // an unreadable or invalid certificate, key, CA or token file (named, never printed)
    process.stderr.write(`medmlops sidecar: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  let watcher: ControlWatcher | undefined;
  if (flags["control-file"]) {
    watcher = new ControlWatcher(
      flags["control-file"],
      (s) => sidecar.setControl(s),
      (m) => logger.warn(m),
    );
    await watcher.start();
  }
  try {
    await sidecar.app.listen({ port: flags.port, host: flags.host });
    await sidecar.metricsApp.listen({ port: flags["metrics-port"], host: flags.host });
  } catch (e) {
    // e.g. EADDRINUSE: a port another process holds
    process.stderr.write(`medmlops sidecar: cannot listen: ${(e as Error).message}\n`);
    watcher?.stop();
    await sidecar.close();
    return EXIT.failure;
  }
  const metricsAddress = sidecar.metricsApp.server.address();
  logger.info(
    {
      scheme: sidecar.guard.scheme,
      clientAuth: flags.security.clientAuth,
      metricsPort: typeof metricsAddress === "object" && metricsAddress ? metricsAddress.port : undefined,
    },
    "listening",
  );
  return serve(flags, signature, logger, sidecar, watcher);
}

function newSidecar(
  flags: SidecarFlags,
  deps: {
    caseIdKey: ReturnType<typeof caseIdKeyFromEnv>;
    deid: DeidGate;
    logger: Logger;
    monitor: SidecarMonitor | undefined;
    registry: Registry;
  },
): Sidecar {
  const { caseIdKey, deid, logger, monitor, registry } = deps;
  return new Sidecar({
    modelName: flags.name,
    modelVersion: flags.version,
    maxBatchSize: flags["max-batch-size"],
    maxQueueDelayMs: flags["max-queue-delay-ms"],
    bodyLimit: Math.floor(flags["body-limit-mb"] * 1024 * 1024),
    requestTimeoutMs: flags["request-timeout-ms"],
    maxQueue: flags["max-queue"],
    caseIdKey,
    logger,
    deid,
    keepDir: flags["keep-dir"],
    maxConnections: flags["max-connections"],
    dicomLimits: {
      maxInputBytes: Math.floor(flags["max-input-mb"] * 1024 * 1024),
      maxDecodedBytes: Math.floor(flags["max-decoded-mb"] * 1024 * 1024),
    },
    monitor,
    registry,
    security: flags.security,
  });
}

async function serve(
  flags: SidecarFlags,
  signature: Signature | undefined,
  logger: Logger,
  sidecar: Sidecar,
  watcher: ControlWatcher | undefined,
): Promise<number> {
  let stopping: Promise<number> | undefined;
  const stop = (signal: string): Promise<number> => {
    stopping ??= (async () => {
      logger.info({ signal }, "shutting down: not ready, draining in-flight requests");
      watcher?.stop();
      await sidecar.drain(flags["shutdown-grace-ms"]);
      return EXIT.ok;
    })();
    return stopping;
  };
  const stopped = new Promise<number>((resolve) => {
    process.once("SIGTERM", () => void stop("SIGTERM").then(resolve));
    process.once("SIGINT", () => void stop("SIGINT").then(resolve));
  });

  let model: LoadedModel | undefined;
  try {
    [model] = await Promise.all([
      loadModel({
        path: flags.model,
        sha256: flags.sha256,
        signature,
        executionProviders: flags["execution-providers"].split(","),
        thread: flags["inference-thread"],
        intraOpNumThreads:
          flags["intra-op-threads"] === "auto" ? autoIntraOpThreads() : flags["intra-op-threads"],
        spinWait: flags["spin-wait"],
        log: (msg, fields) => logger.warn(fields ?? {}, msg),
      }),
      loadCodecs(),
    ]);
    const warm = await warmUp(model, flags["warmup-runs"]);
    logger.info(warm, "warm-up");
    sidecar.setModel(model);
  } catch (e) {
    const message = (e as Error).message;
    sidecar.setFailed(message);
    const kind =
      e instanceof DigestMismatchError
        ? "digest-mismatch"
        : e instanceof WarmUpError
          ? "warm-up-failed"
          : "load-failed";
    logger.error({ kind }, message);
    // Loaded but failed its warm-up: its inference worker must not keep the process alive.
    await model?.session.release();
    process.stderr.write(`medmlops sidecar: ${message}\n`);
    watcher?.stop();
    await sidecar.close();
    return EXIT.failure;
  }
  return stopped;
}
