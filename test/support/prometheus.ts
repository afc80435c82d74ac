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
