/**
 * `medmlops monitor`: the validation ledger and drift engine (HTTP, no Kubernetes credentials).
 * `medmlops monitor profile`: build a reference profile offline from NDJSON records.
 * Start order: open storage and apply migrations, then listen (ready once listening).
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close storage, exit 0.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { z } from "zod";
import { EXIT } from "../common/exit-codes.ts";
import { parsePgliteSettings } from "./db/pglite-settings.ts";
import { DEFAULT_METRICS_PORT } from "./metrics-server.ts";
import {
  SERVER_SECURITY_OPTIONS,
  ServerGuard,
  SERVER_SECURITY_USAGE,
  type ServerSecurity,
  ServerSecurityFlags,
  serverSecurity,
  withSecurityEnv,
} from "../common/tls/server.ts";

export const USAGE = `usage: medmlops monitor [options]
       medmlops monitor profile --records FILE.ndjson --out profile.json [--bins N]

Stores inference records, annotations, reference profiles, policies and consent decisions; evaluates
ValidationPolicies (drift and metrics with confidence intervals). See docs/monitor.md.

Options:
  --port P              API port: /v1 and the probes, no /metrics (default 8090)
  --metrics-port P      metrics port: GET /metrics only, never a client credential; HTTPS with the API's
                        --tls-cert/--tls-key when given (default 9091; 0 = any free port)
  --host H              listen address (default 0.0.0.0)
  --data-dir DIR        embedded storage (PGlite) in DIR (default: $MEDMLOPS_MONITOR_DATA_DIR, else ./medmlops-monitor-data)
  --database-url URL    PostgreSQL instead, postgres://user:pass@host:5432/db (default: $MEDMLOPS_DATABASE_URL)
  --log-level L         trace|debug|info|warn|error (default: $MEDMLOPS_LOG_LEVEL, else info)
  --retention-days N    delete raw records (and their cases' annotations) whose time is older than N days,
                        hourly, in batches; roll-ups are kept (default: $MEDMLOPS_MONITOR_RETENTION_DAYS,
                        else keep until erased)
${SERVER_SECURITY_USAGE}
                        (open without a credential: /healthz, /readyz and the metrics port; every /v1 route, reads
                        too, needs it)
  -h, --help            show this help
Environment: MEDMLOPS_PGLITE_SETTINGS=name=value,… Postgres settings for the embedded engine over its
  defaults (shared_buffers=16MB; docs/monitor.md, "Sizing").
Exit codes: 0 stopped cleanly, 1 storage or listen failure, 2 usage error.`;

const portNumber = z.coerce
  .number({ error: "must be a port number from 0 to 65535" })
  .int("must be a port number from 0 to 65535")
  .min(0, "must be a port number from 0 to 65535")
  .max(65535, "must be a port number from 0 to 65535");

const Flags = z
  .object({
    port: portNumber.default(8090),
    "metrics-port": portNumber.default(DEFAULT_METRICS_PORT),
    host: z.string().min(1).default("0.0.0.0"),
    "data-dir": z.string().min(1).optional(),
    "database-url": z
      .string()
      .regex(/^postgres(ql)?:\/\//, "--database-url must start with postgres:// or postgresql://")
      .optional(),
    "log-level": z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    "retention-days": z.coerce.number().int().min(1).max(36_500).optional(),
  })
  .refine((f) => !(f["data-dir"] && f["database-url"]), {
    message: "give --data-dir or --database-url, not both",
  })
  .refine((f) => f.port === 0 || f["metrics-port"] !== f.port, {
    message: "--metrics-port must differ from --port",
  });
export type MonitorFlags = z.infer<typeof Flags> & {
  security: ServerSecurity;
  /** MEDMLOPS_PGLITE_SETTINGS over the embedded engine's defaults (monitor/db/pglite-settings.ts). */
  pgliteSettings: Record<string, string>;
};

export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): MonitorFlags | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      "metrics-port": { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      "database-url": { type: "string" },
      "log-level": { type: "string" },
      "retention-days": { type: "string" },
      ...SERVER_SECURITY_OPTIONS,
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const {
    help: _h,
    "tls-cert": tlsCert,
    "tls-key": tlsKey,
    "tls-client-ca": tlsClientCa,
    "client-auth": clientAuth,
    "auth-token-file": tokenFile,
    ...flags
  } = values;
  const sec = ServerSecurityFlags.safeParse(
    withSecurityEnv(
      {
        "tls-cert": tlsCert,
        "tls-key": tlsKey,
        "tls-client-ca": tlsClientCa,
        "client-auth": clientAuth,
        "auth-token-file": tokenFile,
      },
      env,
    ),
  );
  if (!sec.success) throw new Error(sec.error.issues.map((i) => i.message).join("; "));
  const merged: Record<string, unknown> = { ...flags };
  // Environment fills only what no flag gave; a flag for one engine hides the other engine's variable.
  if (!merged["data-dir"] && !merged["database-url"]) {
    if (env["MEDMLOPS_DATABASE_URL"]) merged["database-url"] = env["MEDMLOPS_DATABASE_URL"];
    else merged["data-dir"] = env["MEDMLOPS_MONITOR_DATA_DIR"] || "./medmlops-monitor-data";
  }
  if (!merged["log-level"] && env["MEDMLOPS_LOG_LEVEL"]) merged["log-level"] = env["MEDMLOPS_LOG_LEVEL"];
  if (!merged["retention-days"] && env["MEDMLOPS_MONITOR_RETENTION_DAYS"])
    merged["retention-days"] = env["MEDMLOPS_MONITOR_RETENTION_DAYS"];
  const parsed = Flags.safeParse(merged);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues
        .map((i) => (i.path.length ? `--${i.path.join(".")}: ${i.message}` : i.message))
        .join("; "),
    );
  }
  const pgliteSettings = parsePgliteSettings(env["MEDMLOPS_PGLITE_SETTINGS"] ?? "");
  return { ...parsed.data, security: serverSecurity(sec.data), pgliteSettings };
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "profile") return (await import("./profile-cli.ts")).main(argv.slice(1));
  let flags: MonitorFlags | "help";
  try {
    flags = parseFlags(argv);
  } catch (err) {
    process.stderr.write(
      `medmlops monitor: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`,
    );
    return EXIT.usage;
  }
  if (flags === "help") {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const log = pino({ level: flags["log-level"], base: { service: "medmlops-monitor" } });
  try {
    // before storage opens (a first PGlite start takes seconds): a wrong file fails at once, named, never printed
    new ServerGuard(flags.security).preflight();
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, "cannot set up transport security");
    return EXIT.failure;
  }
  const { openDb } = await import("./db/index.ts");
  const { buildServer } = await import("./server.ts");
  let db: Awaited<ReturnType<typeof openDb>>;
  try {
    db = await openDb({
      databaseUrl: flags["database-url"],
      dataDir: flags["data-dir"],
      pgliteSettings: flags.pgliteSettings,
    });
  } catch (err) {
    // pg's connection errors name host and port, never the password
    log.error({ err: err instanceof Error ? err.message : String(err) }, "cannot open storage");
    return EXIT.failure;
  }
  log.info({ engine: db.engine }, "storage open, migrations applied");
  let app: Awaited<ReturnType<typeof buildServer>>["app"];
  let metricsApp: Awaited<ReturnType<typeof buildServer>>["metricsApp"];
  try {
    const retentionDays = flags["retention-days"];
    ({ app, metricsApp } = await buildServer({
      db,
      log,
      security: flags.security,
      ...(retentionDays !== undefined ? { retention: { days: retentionDays } } : {}),
    }));
  } catch (err) {
    // an unreadable certificate, key or token file: named, never printed
    log.error({ err: err instanceof Error ? err.message : String(err) }, "cannot set up transport security");
    await db.close();
    return EXIT.failure;
  }
  try {
    // The metrics port first: a taken metrics port fails before the API answers anything.
    await metricsApp.listen({ port: flags["metrics-port"], host: flags.host });
    await app.listen({ port: flags.port, host: flags.host });
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, "cannot listen");
    await app.close();
    await db.close();
    return EXIT.failure;
  }
  const address = app.server.address();
  const metricsAddress = metricsApp.server.address();
  log.info(
    {
      port: typeof address === "object" && address ? address.port : flags.port,
      metricsPort:
        typeof metricsAddress === "object" && metricsAddress ? metricsAddress.port : flags["metrics-port"],
      scheme: flags.security.tls ? "https" : "http",
      clientAuth: flags.security.clientAuth,
      retentionDays: flags["retention-days"] ?? null,
    },
    "monitor listening",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, "signal received, draining");
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await app.close();
  await db.close();
  log.info("stopped");
  return EXIT.ok;
}
