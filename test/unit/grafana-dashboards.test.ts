// The chart's Grafana dashboards: generated from TypeScript typed with @grafana/schema (typecheck is the schema
// check), committed JSON up to date, a sane layout, every query valid PromQL (promtool parses it), and the
// chart's ConfigMaps carry exactly the committed JSON under the dashboard sidecar's label.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Dashboard, Panel } from "@grafana/schema";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { DASHBOARDS, outDir, renderDashboard } from "../../scripts/dashboards/index.ts";
import { DS } from "../../scripts/dashboards/panels.ts";
import { promtoolPath, renderChartTemplate } from "../support/prometheus.ts";

const run = promisify(execFile);
const BUILTINS = new Set(["__rate_interval", "__interval", "__range"]);

/** Substitutes dashboard variables the way Grafana would for one selection. */
function concreteExpr(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll('=~"$namespace"', '=~".*"')
    .replaceAll('"$namespace"', '"radiology"')
    .replaceAll('"$model"', '"cxr"');
}

const exprsOf = (d: Dashboard) =>
  (d.panels ?? []).flatMap((p) =>
    ((p as Panel).targets ?? []).map((t) => ({ panel: (p as Panel).title ?? "", expr: String(t.expr) })),
  );

describe("Grafana dashboards", () => {
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    describe(file, () => {
      const d = build();
      const panels = (d.panels ?? []) as Panel[];

      it("committed JSON is up to date (npx tsx scripts/dashboards/index.ts)", () => {
        // compared as JSON: the committed file is formatted by biome
        expect(JSON.parse(readFileSync(join(outDir, file), "utf8"))).toEqual(JSON.parse(renderDashboard(d)));
      });

      it("has unique ids, a 24-column layout without overlaps, and queries on $datasource", () => {
        expect(d.uid).toMatch(/^medmlops-/);
        expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
        const cells = new Set<string>();
        for (const p of panels) {
          const g = p.gridPos;
          expect(g, p.title).toBeDefined();
          if (!g) continue;
          expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
          for (let x = g.x; x < g.x + g.w; x++)
            for (let y = g.y; y < g.y + g.h; y++) {
              expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
              cells.add(`${x},${y}`);
            }
          expect(p.datasource?.uid).toBe(DS.uid);
          expect(p.targets?.length, p.title).toBeGreaterThan(0);
          for (const t of p.targets ?? []) expect(t.refId).toMatch(/^[A-Z]$/);
        }
      });

      it("uses only declared variables", () => {
        const declared = new Set((d.templating?.list ?? []).map((v) => v.name));
        for (const { panel, expr } of exprsOf(d))
          for (const m of expr.matchAll(/\$(\w+)/g))
            expect(declared.has(m[1] ?? "") || BUILTINS.has(m[1] ?? ""), `${panel}: $${m[1]}`).toBe(true);
      });

      it("every query is valid PromQL (promtool check rules)", async () => {
        const dir = mkdtempSync(join(tmpdir(), "dash-"));
        try {
          const rules = exprsOf(d).map(({ expr }, i) => ({
            record: `medmlops:dashboard_query_${i}`,
            expr: concreteExpr(expr),
          }));
          writeFileSync(join(dir, "q.yaml"), stringify({ groups: [{ name: file, rules }] }));
          const r = await run(promtoolPath(), ["check", "rules", join(dir, "q.yaml")]);
          expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }

  it("the chart ships them as ConfigMaps labelled for Grafana's dashboard sidecar", async () => {
    const r = {
      stdout: await renderChartTemplate("templates/grafana-dashboards.yaml", [
        "grafana.dashboards.enabled=true",
      ]),
    };
    const maps = parseAllDocuments(r.stdout)
      .map(
        (doc) =>
          doc.toJS() as { metadata: { labels: Record<string, string> }; data: Record<string, string> } | null,
      )
      .filter((m) => m !== null);
    expect(maps).toHaveLength(Object.keys(DASHBOARDS).length);
    for (const [file] of Object.entries(DASHBOARDS)) {
      const m = maps.find((x) => x.data[`medmlops-${file}`] !== undefined);
      expect(m?.metadata.labels.grafana_dashboard).toBe("1");
      expect(JSON.parse(m?.data[`medmlops-${file}`] ?? "null")).toEqual(
        JSON.parse(readFileSync(join(outDir, file), "utf8")),
      );
    }
  });
});
