// The chart passes monitor.retentionDays to the monitor as MEDMLOPS_MONITOR_RETENTION_DAYS (docs/monitor.md,
// "Retention"); 0 (the default) sets nothing, so records are kept until erasure.
import { describe, expect, it } from "vitest";
import { type Rendered, renderChart } from "../support/chart.ts";

async function monitorEnv(set: string[]): Promise<Array<{ name: string; value?: string }>> {
  const objs = await renderChart(set);
  const d = objs.find((o: Rendered) => o.kind === "Deployment" && o.metadata.name.endsWith("-monitor"));
  if (!d) throw new Error("no monitor Deployment rendered");
  return d["spec"].template.spec.containers[0].env;
}

describe("chart: monitor retention", () => {
  it("sets MEDMLOPS_MONITOR_RETENTION_DAYS only when retentionDays > 0", async () => {
    expect((await monitorEnv([])).map((e) => e.name)).not.toContain("MEDMLOPS_MONITOR_RETENTION_DAYS");
    expect(await monitorEnv(["monitor.retentionDays=30"])).toContainEqual({
      name: "MEDMLOPS_MONITOR_RETENTION_DAYS",
      value: "30",
    });
  });

  it("refuses a negative retention", async () => {
    await expect(renderChart(["monitor.retentionDays=-1"])).rejects.toThrow(/retentionDays/);
  });
});
