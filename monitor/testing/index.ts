/**
 * Test helpers: a real monitor on a free loopback port. For other workstreams' tests too:
 *
 *   const m = await startMonitor();                // PGlite in a fresh temp dir (a copy of a migrated template)
 *   const m = await startMonitor({ databaseUrl });  // PostgreSQL (see test/support/postgres.ts)
 *   await m.client.putPolicy(...); ... await m.stop();
 *
 *   const p = await spawnMonitor({ dataDir });      // `medmlops monitor` as a child process (kill/restart tests)
 *   p.kill("SIGKILL"); await p.exited;
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ServerSecurity } from "../../common/tls/server.ts";
import { type ClientTlsFiles, MonitorClient } from "../client.ts";
import type { Db } from "../db/index.ts";
import { openDb } from "../db/index.ts";
import type { MonitorContext } from "../context.ts";
import type { RetentionConfig } from "../retention-decision.ts";
import type { RetentionRunner } from "../retention.ts";
import { buildServer } from "../server.ts";
import { freshPgliteDir } from "./pglite-template.ts";

export { freshPgliteDir, pgliteTemplateDir } from "./pglite-template.ts";

export interface StartedMonitor {
  /** The API (/v1, probes). */
  url: string;
  /** The metrics listener (GET /metrics only), same scheme as url. */
  metricsUrl: string;
  client: MonitorClient;
  db: Db;
  ctx: MonitorContext;
  /** The PGlite directory (undefined on PostgreSQL). */
  dataDir: string | undefined;
  /** The retention sweep, when `retention` was given. */
  retention?: RetentionRunner;
  stop(): Promise<void>;
}

export interface StartMonitorOptions {
  databaseUrl?: string;
  /** PGlite directory; default a fresh temp dir, removed by stop(). */
  dataDir?: string;
  now?: () => Date;
  /** Serve TLS / require a credential (common/tls); `client` then needs `clientTls` to get through. */
  security?: ServerSecurity;
  /** What `client` presents (CA, client certificate, token). */
  clientTls?: ClientTlsFiles;
  /** Loopback port; default a free one. Given with dataDir, a stopped monitor comes back where it was (outage tests). */
  port?: number;
  /** Retention sweep (--retention-days); tests call `retention.sweepNow()`. */
  retention?: RetentionConfig;
}

export async function startMonitor(opts: StartMonitorOptions = {}): Promise<StartedMonitor> {
  const ownDir = !opts.databaseUrl && !opts.dataDir;
  const dataDir = opts.databaseUrl ? undefined : (opts.dataDir ?? (await freshPgliteDir()));
  const db = await openDb({ databaseUrl: opts.databaseUrl, dataDir });
  const { app, metricsApp, ctx, retention } = await buildServer({
    db,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.retention ? { retention: opts.retention } : {}),
    ...(opts.security ? { security: opts.security } : {}),
  });
  await app.listen({ port: opts.port ?? 0, host: "127.0.0.1" });
  await metricsApp.listen({ port: 0, host: "127.0.0.1" });
  const portOf = (a: ReturnType<typeof app.server.address>) => (typeof a === "object" && a ? a.port : 0);
  const scheme = opts.security?.tls ? "https" : "http";
  const url = `${scheme}://127.0.0.1:${portOf(app.server.address())}`;
  return {
    url,
    metricsUrl: `${scheme}://127.0.0.1:${portOf(metricsApp.server.address())}`,
    client: new MonitorClient(url, opts.clientTls ? { tls: opts.clientTls } : {}),
    db,
    ctx,
    dataDir,
    ...(retention ? { retention } : {}),
    async stop() {
      await app.close();
      await db.close();
      if (ownDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SpawnedMonitor {
  /** The API (/v1, probes). */
  url: string;
  /** The metrics listener (GET /metrics only), same scheme as url. */
  metricsUrl: string;
  client: MonitorClient;
  process: ChildProcess;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

const BIN = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));

/** Runs `medmlops monitor` on a free loopback port and waits until it listens (its log names the port). */
export async function spawnMonitor(
  opts: {
    dataDir?: string;
    databaseUrl?: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** More flags (e.g. --tls-cert … --client-auth token …). */
    args?: string[];
    /** What `client` presents to the monitor (CA, client certificate, token). */
    clientTls?: ClientTlsFiles;
  } = {},
): Promise<SpawnedMonitor> {
  const args = [
    BIN,
    "monitor",
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--host",
    "127.0.0.1",
    "--log-level",
    "info",
    ...(opts.args ?? []),
  ];
  if (opts.databaseUrl) args.push("--database-url", opts.databaseUrl);
  else if (opts.dataDir) args.push("--data-dir", opts.dataDir);
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MEDMLOPS_DATABASE_URL: "", ...opts.env },
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let scheme = "http";
  let metricsPort = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`monitor did not listen in time; stderr: ${stderr}`)),
      opts.timeoutMs ?? 60_000,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const j = JSON.parse(line) as { msg?: string; port?: number; metricsPort?: number; scheme?: string };
        if (j.msg === "monitor listening" && typeof j.port === "number") {
          clearTimeout(timer);
          if (j.scheme === "https") scheme = "https";
          metricsPort = j.metricsPort ?? 0;
          resolve(j.port);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`monitor exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  const url = `${scheme}://127.0.0.1:${port}`;
  return {
    url,
    metricsUrl: `${scheme}://127.0.0.1:${metricsPort}`,
    client: new MonitorClient(url, opts.clientTls ? { tls: opts.clientTls } : {}),
    process: child,
    exited,
    kill: (signal = "SIGTERM") => {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
