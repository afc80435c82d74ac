// The chart's alerting rules: `promtool check rules` and `promtool test rules` (test/prometheus/rules.test.yaml,
// one case per alert, firing and quiet), and the chart's PrometheusRule embeds exactly that file.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { repoRoot } from "../cluster/paths.ts";
import { promtoolPath, renderChartTemplate } from "../support/prometheus.ts";

const run = promisify(execFile);
const rulesFile = join(repoRoot, "charts/medmlops/files/prometheus/rules.yaml");
const ALERTS = [
  "MedModelServingErrors",
  "MedModelDriftDetected",
  "MedModelPerformanceBreach",
  "MedModelFailedOver",
  "MedModelSuspended",
  "MedModelValidationStale",
  "MonitorRecordsDropped",
];

describe("alerting rules", () => {
  it("pass promtool check rules", async () => {
    const r = await run(promtoolPath(), ["check", "rules", rulesFile]);
    expect(r.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
  });

  it("pass their promtool unit tests, and every alert has one", async () => {
    const tests = join(repoRoot, "test/prometheus/rules.test.yaml");
    const r = await run(promtoolPath(), ["test", "rules", tests], { cwd: repoRoot });
    expect(r.stdout).toContain("SUCCESS");
    const text = readFileSync(tests, "utf8");
    for (const a of ALERTS) expect(text, a).toContain(`alertname: ${a}`);
  });

  it("are what the chart's PrometheusRule carries", async () => {
    const r = {
      stdout: await renderChartTemplate("templates/prometheusrule.yaml", [
        "metrics.prometheusRule.enabled=true",
      ]),
    };
    const rule = parseAllDocuments(r.stdout)[0]?.toJS() as { spec: { groups: { name: string }[] } };
    const file = parse(readFileSync(rulesFile, "utf8")) as { groups: { name: string }[] };
    const rendered = rule.spec.groups.filter((g) => file.groups.some((f) => f.name === g.name));
    expect(rendered).toEqual(file.groups);
    expect(rule.spec.groups.map((g) => g.name)).toContain("medmlops.operator");
  });
});
