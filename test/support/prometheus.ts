/**
 * Debian's Prometheus and promtool for tests (.ci/setup.d/40-prometheus.sh installs them). A missing binary
 * fails the test with the command that installs it — never a silent skip.
 */
import { existsSync } from "node:fs";

function tool(env: string, name: string): string {
  const path = process.env[env] ?? `/usr/bin/${name}`;
  if (!existsSync(path))
    throw new Error(
      `${name} not found at ${path}: run \`apt-get install prometheus\` (as .ci/setup.d/40-prometheus.sh does) or set ${env}`,
    );
  return path;
}

export const promtoolPath = () => tool("MEDMLOPS_PROMTOOL", "promtool");
export const prometheusPath = () => tool("MEDMLOPS_PROMETHEUS", "prometheus");

/**
 * `helm template` of one chart template offline (the helm the cluster build makes), with `--set` values; the
 * rendered YAML. For tests that check what the chart ships without an API server.
 */
export async function renderChartTemplate(template: string, set: string[]): Promise<string> {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const { join } = await import("node:path");
  const { helmBin } = await import("../cluster/client.ts");
  const { repoRoot } = await import("../cluster/paths.ts");
  if (!existsSync(helmBin)) throw new Error(`helm not found at ${helmBin}: run bash test/cluster/build.sh`);
  const args = ["template", "x", join(repoRoot, "charts/medmlops"), "--kube-version", "v1.33.0"];
  // as in a cluster with cert-manager, which the chart's default modelServing.tls.mode needs (support/chart.ts)
  args.push("--api-versions", "cert-manager.io/v1");
  for (const s of set) args.push("--set", s);
  const r = await promisify(execFile)(helmBin, [...args, "-s", template]);
  return r.stdout;
}

export interface PromResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface StartedPrometheus {
  url: string;
  /** Instant query (`time` in Unix seconds, default now): the result, or throws with Prometheus' error text. */
  query(expr: string, time?: number): Promise<PromResult[]>;
  /** Range query over [start, end] Unix seconds. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<PromResult[]>;
  /** GET /api/v1/<path>: the `data` field. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Debian's Prometheus server on a free loopback port with the given configuration (YAML text) and extra files
 * beside it (rule files), its TSDB in a temp dir removed by stop(). Waits until /-/ready answers.
 */
export async function startPrometheus(
  config: string,
  files: Record<string, string> = {},
): Promise<StartedPrometheus> {
  const { spawn } = await import("node:child_process");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { freePort } = await import("../../inference-sidecar/testing/process.ts");
  const dir = mkdtempSync(join(tmpdir(), "medmlops-prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const child = spawn(
    prometheusPath(),
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    }
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`prometheus not ready within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  async function call<T>(path: string, form?: Record<string, string>): Promise<T> {
    const res = await fetch(`${url}/api/v1/${path}`, {
      method: form ? "POST" : "GET",
      ...(form ? { body: new URLSearchParams(form) } : {}),
    });
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== "success") throw new Error(`${body.errorType}: ${body.error}`);
    return body.data;
  }
  return {
    url,
    api: (path) => call(path),
    async query(expr, time) {
      const d = await call<{ result: PromResult[] }>("query", {
        query: expr,
        ...(time !== undefined ? { time: String(time) } : {}),
      });
      return d.result;
    },
    async queryRange(expr, start, end, step) {
      const d = await call<{ result: PromResult[] }>("query_range", {
        query: expr,
        start: String(start),
        end: String(end),
        step: String(step),
      });
      return d.result;
    },
    stop,
  };
}
