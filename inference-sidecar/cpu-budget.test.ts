import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { autoIntraOpThreads, threadsForCpuMax } from "./cpu-budget.ts";

describe("threadsForCpuMax", () => {
  it.each([
    ["200000 100000", 64, 2],
    ["150000 100000", 64, 2], // 1.5 CPUs: a second thread still helps
    ["50000 100000", 64, 1], // half a CPU: never below one thread
    ["400000 100000", 2, 2], // quota above the cores the process may use
    ["max 100000", 8, 8], // no limit
    [undefined, 4, 4], // no cgroup v2 file
    ["garbage", 4, 4],
    ["0 100000", 4, 4],
  ])("cpu.max %j on %i cores → %i threads", (text, cores, want) => {
    expect(threadsForCpuMax(text, cores)).toBe(want);
  });
});

describe("autoIntraOpThreads", () => {
  it("reads the cgroup file it is given, and falls back when it is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpu-max-"));
    const file = join(dir, "cpu.max");
    writeFileSync(file, "100000 100000\n");
    expect(autoIntraOpThreads(file)).toBe(1);
    expect(autoIntraOpThreads(join(dir, "absent"))).toBeGreaterThanOrEqual(1);
  });
});
