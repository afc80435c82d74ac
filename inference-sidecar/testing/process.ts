/**
 * A real sidecar process (bin/medmlops.js sidecar) on two loopback ports (inference, metrics), and a probe that watches it from outside
 * while a hostile request runs: its liveness latency (every 50 ms) and its peak resident memory (VmHWM from
 * /proc, reset before each probe through clear_refs).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

const BIN = new URL("../../bin/medmlops.js", import.meta.url).pathname;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SidecarProcess {
  url: string;
  port: number;
  /** The metrics port (`--metrics-port`): plain HTTP, GET /metrics only. */
  metricsUrl: string;
  metricsPort: number;
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `medmlops sidecar ARGS` and waits until its liveness answers (and readiness, unless told not to). */
export async function startSidecarProcess(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    waitReady?: boolean;
    /** https when the sidecar serves TLS; `fetch` then trusts its CA (common/tls/client.ts securedFetch). */
    scheme?: "http" | "https";
    fetch?: typeof fetch;
  } = {},
): Promise<SidecarProcess> {
  const port = await freePort();
  let metricsPort = await freePort();
  while (metricsPort === port) metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      BIN,
      "sidecar",
      ...args,
      ...["--port", String(port), "--metrics-port", String(metricsPort)],
      ...["--host", "127.0.0.1", "--log-level", "warn"],
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } },
  );
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `${opts.scheme ?? "http"}://127.0.0.1:${port}`;
  const get = opts.fetch ?? fetch;
  const path = opts.waitReady === false ? "/v2/health/live" : "/v2/health/ready";
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sidecar exited ${child.exitCode}: ${out.slice(0, 2000)}`);
    try {
      if ((await get(url + path)).ok) break;
    } catch {}
    if (Date.now() > end) throw new Error(`sidecar never answered ${path}: ${out.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    metricsPort,
    pid: child.pid as number,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface ProbeResult<T> {
  result: T;
  /** Slowest liveness answer while the request ran, ms (a failed or missing answer counts as Infinity). */
  maxLivenessMs: number;
  /** Peak resident set size of the sidecar during the request, bytes. */
  peakRssBytes: number;
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Runs `request` against the sidecar while measuring its liveness latency and peak memory. */
export async function probe<T>(sc: SidecarProcess, request: () => Promise<T>): Promise<ProbeResult<T>> {
  // "5" resets the peak RSS counter (VmHWM) to the current RSS (Linux >= 4.0).
  writeFileSync(`/proc/${sc.pid}/clear_refs`, "5");
  let running = true;
  let maxLivenessMs = 0;
  const watcher = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const r = await fetch(`${sc.url}/v2/health/live`, { signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        maxLivenessMs = Math.max(maxLivenessMs, r.ok ? performance.now() - t : Number.POSITIVE_INFINITY);
      } catch {
        maxLivenessMs = Number.POSITIVE_INFINITY;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    // Let the watcher take one sample before the request starts.
    await new Promise((r) => setTimeout(r, 60));
    const result = await request();
    await new Promise((r) => setTimeout(r, 120));
    return { result, maxLivenessMs, peakRssBytes: peakRss(sc.pid) };
  } finally {
    running = false;
    await watcher;
  }
}
