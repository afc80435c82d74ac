/**
 * The CLI under hostile input (issue 15): pseudonymous output layout, symbolic links out of the input tree,
 * FIFOs, the per-file watchdog, 2.5 GB inputs with bounded memory, unusable output folders, the progress line.
 * Most cases run the real binary as a subprocess (a real TTY through `script`, real RSS through `/usr/bin/time`).
 */
import { execFile, execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { budgetBytes, containerMemoryLimit, fitToMemory, MIB } from "./memory.ts";
import { runTasks } from "./pool.ts";
import type { RunConfig } from "./process-file.ts";
import { progressLine } from "./progress.ts";
import { baseSpecs, buildFile, TEST_KEY } from "./testing/build.ts";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "..", "bin", "medmlops.js");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "deid-robust-"));
  await writeFile(join(dir, "key"), "cli-test-key-0123456789abcdef0123456789abcdef");
  // Folders named after the patient, as hospitals' exports often are.
  await mkdir(join(dir, "in", "SMITHSONIAN_JOHANNA", "CT"), { recursive: true });
  await writeFile(
    join(dir, "in", "SMITHSONIAN_JOHANNA", "CT", "1.dcm"),
    buildFile(baseSpecs({ sop: "1.2.3.4.1" })),
  );
  await writeFile(
    join(dir, "in", "SMITHSONIAN_JOHANNA", "CT", "2.dcm"),
    buildFile(baseSpecs({ sop: "1.2.3.4.2" })),
  );
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deid(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, "deid", ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(root.length + 1));
  return out.sort();
}

describe("output layout", () => {
  it("is pseudonymous by default: no input folder name in the output tree, the report or the quarantine", async () => {
    await writeFile(join(dir, "in", "SMITHSONIAN_JOHANNA", "notes.txt"), "not DICOM");
    const r = await deid([
      join(dir, "in"),
      join(dir, "out"),
      "--key-file",
      join(dir, "key"),
      "--report",
      join(dir, "r.json"),
      "--quarantine",
      join(dir, "q"),
    ]);
    expect(r.code).toBe(3);
    const out = await tree(join(dir, "out"));
    expect(out).toHaveLength(2);
    for (const f of out) expect(f).toMatch(/^2\.25\.\d+\/2\.25\.\d+\/2\.25\.\d+\.dcm$/);
    const report = await readFile(join(dir, "r.json"), "utf8");
    expect(report).not.toMatch(/SMITHSONIAN|JOHANNA|notes/);
    const entries = JSON.parse(report).files as { input: string; output?: string }[];
    for (const e of entries) expect(e.input).toMatch(/^f-[0-9a-f]{16}$/);
    expect((await tree(join(dir, "q"))).join()).toMatch(/^f-[0-9a-f]{16}\.dcm$/);
    // Same key, same input: same layout (re-runs are idempotent, nothing duplicated).
    await deid([join(dir, "in"), join(dir, "out"), "--key-file", join(dir, "key")]);
    expect(await tree(join(dir, "out"))).toEqual(out);
  });
});

describe("links and special files", () => {
  it("does not follow a symbolic link out of the input tree, nor read a FIFO: both reported", async () => {
    await mkdir(join(dir, "elsewhere"));
    await writeFile(join(dir, "elsewhere", "other.dcm"), buildFile(baseSpecs({ sop: "1.2.3.4.9" })));
    await symlink(join(dir, "elsewhere", "other.dcm"), join(dir, "in", "escape.dcm"));
    await symlink(join(dir, "elsewhere"), join(dir, "in", "escape-dir"));
    execFileSync("mkfifo", [join(dir, "in", "pipe.dcm")]);
    const r = await deid([
      join(dir, "in"),
      join(dir, "out"),
      "--mirror-paths",
      "--key-file",
      join(dir, "key"),
      "--report",
      join(dir, "r.json"),
    ]);
    expect(r.code).toBe(3);
    const files = JSON.parse(await readFile(join(dir, "r.json"), "utf8")).files as {
      input: string;
      code?: string;
      bytesIn: number;
    }[];
    const by = new Map(files.map((f) => [f.input, f]));
    expect(by.get("escape.dcm")).toMatchObject({ code: "SYMLINK_OUTSIDE_INPUT", bytesIn: 0 });
    expect(by.get("escape-dir")).toMatchObject({ code: "SYMLINK_OUTSIDE_INPUT" });
    expect(by.get("pipe.dcm")).toMatchObject({ code: "NOT_A_REGULAR_FILE" });
    expect(await tree(join(dir, "out"))).toEqual([
      "SMITHSONIAN_JOHANNA/CT/1.dcm",
      "SMITHSONIAN_JOHANNA/CT/2.dcm",
    ]);
  });
});

describe("per-file watchdog", () => {
  const config = (): RunConfig => ({
    key: TEST_KEY,
    options: [],
    pixelMasks: [],
    outputDir: join(dir, "out"),
    layout: "mirror",
    maxFileBytes: 1 << 30,
  });

  for (const jobs of [1, 2]) {
    it(`quarantines a file that hangs (a FIFO nobody writes) after the timeout, and the run ends (--jobs ${jobs})`, async () => {
      const fifo = join(dir, "hang.dcm");
      execFileSync("mkfifo", [fifo]);
      const good = join(dir, "in", "SMITHSONIAN_JOHANNA", "CT", "1.dcm");
      const started = Date.now();
      try {
        const entries = await runTasks(
          [
            { path: fifo, rel: "hang.dcm", id: "f-1", size: 10 },
            { path: good, rel: "good.dcm", id: "f-2", size: 10_000 },
          ],
          config(),
          jobs,
          { timeoutMs: 800 },
        );
        expect(entries[0]).toMatchObject({ code: "TIMEOUT", outcome: "quarantined" });
        expect(entries[0]?.reason).toMatch(/not finished within 1 s/);
        expect(entries[1]?.outcome).toBe("deidentified");
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        // Unblock the abandoned open() so the thread pool is free again (no reader left: ENXIO, fine).
        const w = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
        await w?.close();
      }
    }, 30_000);
  }
});

describe("huge inputs", () => {
  it("refuses a 2.5 GB file unread with a clear reason, in bounded memory", async () => {
    const big = join(dir, "in", "big.dcm");
    await writeFile(big, "");
    await truncate(big, 2.5 * 1024 ** 3); // sparse: no disk used
    let stderr = "";
    try {
      await run(
        "/usr/bin/time",
        [
          "-v",
          process.execPath,
          BIN,
          "deid",
          join(dir, "in"),
          join(dir, "out"),
          "--key-file",
          join(dir, "key"),
          "--report",
          join(dir, "r.json"),
        ],
        { maxBuffer: 16 << 20 },
      );
    } catch (err) {
      stderr = (err as { stderr: string }).stderr;
    }
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) * 1024;
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(400 * MIB);
    const files = JSON.parse(await readFile(join(dir, "r.json"), "utf8")).files as {
      code?: string;
      reason?: string;
    }[];
    const refused = files.find((f) => f.code === "TOO_LARGE");
    expect(refused?.reason).toMatch(
      /^file of 2684354560 bytes exceeds the per-file limit of 1073741824 bytes \(--max-file-bytes\); not read$/,
    );
    expect(files.filter((f) => f.code === undefined)).toHaveLength(2);
  }, 60_000);

  it("fits jobs and the per-file limit under a container memory limit", () => {
    expect(fitToMemory(undefined, 4, 1024 * MIB)).toEqual({ jobs: 4, maxFileBytes: 1024 * MIB });
    const fitted = fitToMemory(2048 * MIB, 4, 1024 * MIB);
    expect(budgetBytes(fitted.jobs, fitted.maxFileBytes)).toBeLessThanOrEqual(2048 * MIB);
    expect(fitted.jobs).toBe(1);
    const roomy = fitToMemory(16 * 1024 * MIB, 4, 512 * MIB);
    expect(roomy).toEqual({ jobs: 4, maxFileBytes: 512 * MIB });
    expect(containerMemoryLimit(() => "max\n")).toBeUndefined();
    expect(containerMemoryLimit(() => "536870912\n")).toBe(512 * MIB);
  });
});

describe("unusable output folders: exit 1, one error, nothing processed", () => {
  const cases: [string, () => Promise<string[]>, RegExp][] = [
    [
      "inside /sys",
      async () => ["/sys/medmlops-deid-out"],
      /^deid: output folder is inside \/sys: not a place for files; nothing processed\n$/,
    ],
    [
      "below a file (unwritable)",
      async () => {
        await writeFile(join(dir, "file"), "x");
        return [join(dir, "file", "out")];
      },
      /^deid: output folder is not writable \(ENOTDIR\); nothing processed\n$/,
    ],
    [
      "quarantine inside /proc",
      async () => [join(dir, "out"), "--quarantine", "/proc/medmlops-q"],
      /^deid: quarantine folder is inside \/proc: not a place for files; nothing processed\n$/,
    ],
  ];
  for (const [name, setup, message] of cases) {
    it(name, async () => {
      const [out, ...rest] = await setup();
      const r = await deid([join(dir, "in"), out as string, ...rest, "--key-file", join(dir, "key")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe("progress line", () => {
  it("formats done/total, rate, ETA and quarantined (counts only)", () => {
    expect(progressLine({ done: 50, total: 200, quarantined: 3, elapsedMs: 10_000 })).toBe(
      "deid: 50/200 files (25%), 5.0 files/s, ETA 30 s, 3 quarantined",
    );
    expect(progressLine({ done: 0, total: 10, quarantined: 0, elapsedMs: 0 })).toMatch(/ETA \?/);
  });

  it("is drawn on a terminal, not when piped, not with --quiet", async () => {
    const args = [BIN, "deid", join(dir, "in"), join(dir, "out"), "--key-file", join(dir, "key")];
    const cmd = [process.execPath, ...args].map((a) => `'${a}'`).join(" ");
    const tty = await run("script", ["-qec", cmd, "/dev/null"]);
    expect(tty.stdout).toMatch(/\rdeid: 2\/2 files \(100%\), [\d.]+ files\/s, ETA \d+ s, 0 quarantined/);
    const quiet = await run("script", ["-qec", `${cmd} --quiet`, "/dev/null"]);
    expect(quiet.stdout).not.toMatch(/files\/s/);
    const piped = await deid(args.slice(2));
    expect(piped.stderr).not.toMatch(/files\/s/);
    expect(piped.stderr).toMatch(/^deid: 2 files, 2 de-identified, 0 quarantined\n$/);
  }, 60_000);
});
