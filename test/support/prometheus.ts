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
  for (const s of set) args.push("--set", s);
  const r = await promisify(execFile)(helmBin, [...args, "-s", template]);
  return r.stdout;
}
