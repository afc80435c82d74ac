/**
 * The chart's Grafana dashboards, generated from TypeScript typed with @grafana/schema:
 * `npx tsx scripts/dashboards/index.ts` writes charts/medmlops/files/grafana/*.json (a test keeps them fresh).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Dashboard } from "@grafana/schema";
import { hospitalDashboard } from "./hospital.ts";
import { modelDashboard } from "./model.ts";

export const DASHBOARDS: Record<string, () => Dashboard> = {
  "hospital.json": hospitalDashboard,
  "model.json": modelDashboard,
};

export const renderDashboard = (d: Dashboard) => `${JSON.stringify(d, null, 2)}\n`;

export const outDir = fileURLToPath(new URL("../../charts/medmlops/files/grafana/", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    writeFileSync(`${outDir}${file}`, renderDashboard(build()));
    console.log(`wrote charts/medmlops/files/grafana/${file}`);
  }
}
