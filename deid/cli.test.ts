import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "./cli.ts";
import { baseSpecs, buildFile } from "./testing/build.ts";

let dir: string;
let stderr: string;
let stdout: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "deid-cli-"));
  stderr = "";
  stdout = "";
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  await writeFile(join(dir, "key"), "cli-test-key-0123456789abcdef0123456789abcdef");
  await mkdir(join(dir, "in", "study1"), { recursive: true });
  await writeFile(join(dir, "in", "study1", "ct1.dcm"), buildFile(baseSpecs({ sop: "1.2.3.4.1" })));
  await writeFile(join(dir, "in", "study1", "ct2.dcm"), buildFile(baseSpecs({ sop: "1.2.3.4.2" })));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(root.length + 1));
  }
  return out.sort();
}

describe("medmlops deid", () => {
  it("de-identifies a folder, mirrors relative paths with --mirror-paths, writes a report, exits 0", async () => {
    const code = await main([
      join(dir, "in"),
      join(dir, "out"),
      "--mirror-paths",
      "--key-file",
      join(dir, "key"),
      "--report",
      join(dir, "r.json"),
    ]);
    expect(code).toBe(0);
    expect(await files(join(dir, "out"))).toEqual(["study1/ct1.dcm", "study1/ct2.dcm"]);
    const report = JSON.parse(await readFile(join(dir, "r.json"), "utf8"));
    expect(report.summary).toEqual({ total: 2, deidentified: 2, quarantined: 0 });
    expect(report.files[0].patient).toMatch(/^pn:[0-9a-f]{64}$/);
    expect(JSON.stringify(report)).not.toContain("SMITHSONIAN");
    expect(stderr).not.toContain("SMITHSONIAN");
  });

  it("exits 3 when a file is quarantined, still writes the rest, copies the original to --quarantine", async () => {
    await writeFile(join(dir, "in", "study1", "notes.txt"), "SMITHSONIAN is not DICOM");
    const code = await main([
      join(dir, "in"),
      join(dir, "out"),
      "--mirror-paths",
      "--key-file",
      join(dir, "key"),
      "--quarantine",
      join(dir, "q"),
      "--report",
      join(dir, "r.json"),
      "--jobs",
      "2",
    ]);
    expect(code).toBe(3);
    expect(await files(join(dir, "out"))).toEqual(["study1/ct1.dcm", "study1/ct2.dcm"]);
    expect(await files(join(dir, "q"))).toEqual(["study1/notes.txt"]);
    const report = JSON.parse(await readFile(join(dir, "r.json"), "utf8"));
    const q = report.files.find((f: { input: string }) => f.input === "study1/notes.txt");
    expect(q).toMatchObject({ outcome: "quarantined", code: "NOT_DICOM" });
    expect(JSON.stringify(report)).not.toContain("SMITHSONIAN");
  });

  it("processes symlinked files inside the input tree too (nothing silently skipped)", async () => {
    await symlink(join(dir, "in", "study1", "ct1.dcm"), join(dir, "in", "linked.dcm"));
    expect(
      await main([join(dir, "in"), join(dir, "out"), "--mirror-paths", "--key-file", join(dir, "key")]),
    ).toBe(0);
    expect(await files(join(dir, "out"))).toEqual(["linked.dcm", "study1/ct1.dcm", "study1/ct2.dcm"]);
  });

  it("--jobs 2 gives byte-identical output to --jobs 1", async () => {
    await main([join(dir, "in"), join(dir, "o1"), "--mirror-paths", "--key-file", join(dir, "key")]);
    await main([
      join(dir, "in"),
      join(dir, "o2"),
      "--mirror-paths",
      "--key-file",
      join(dir, "key"),
      "--jobs",
      "2",
    ]);
    for (const f of ["study1/ct1.dcm", "study1/ct2.dcm"]) {
      expect((await readFile(join(dir, "o1", f))).equals(await readFile(join(dir, "o2", f)))).toBe(true);
    }
  });

  it("exits 2 on usage errors: missing arguments, unknown option, missing key, bad jobs", async () => {
    expect(await main([join(dir, "in")])).toBe(2);
    expect(
      await main([
        join(dir, "in"),
        join(dir, "out"),
        "--key-file",
        join(dir, "key"),
        "--option",
        "RetainEverything",
      ]),
    ).toBe(2);
    expect(await main([join(dir, "in"), join(dir, "out")], {})).toBe(2);
    expect(
      await main([join(dir, "in"), join(dir, "out"), "--key-file", join(dir, "key"), "--jobs", "0"]),
    ).toBe(2);
    expect(await main([join(dir, "nope"), join(dir, "out"), "--key-file", join(dir, "key")])).toBe(2);
  });

  it("init mode reads MEDMLOPS_DEID_* env, writes the report beside the output, exits 0 when something usable came out", async () => {
    const env = {
      MEDMLOPS_DEID_INPUT: join(dir, "in"),
      MEDMLOPS_DEID_OUTPUT: join(dir, "output"),
      MEDMLOPS_DEID_KEY_FILE: join(dir, "key"),
      MEDMLOPS_DEID_OPTIONS: "CleanDescriptors,RetainLongitudinalTemporalInformationModifiedDates",
      MEDMLOPS_DEID_JOBS: "1",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      expect(await main(["init"], process.env)).toBe(0);
    } finally {
      process.env = saved;
    }
    const report = JSON.parse(await readFile(join(dir, "output", "deid-report.json"), "utf8"));
    expect(report.options).toEqual([
      "CleanDescriptors",
      "RetainLongitudinalTemporalInformationModifiedDates",
    ]);
    expect(report.summary.deidentified).toBe(2);
  });

  it("init mode exits non-zero when nothing usable came out", async () => {
    await rm(join(dir, "in"), { recursive: true });
    await mkdir(join(dir, "in"));
    await writeFile(join(dir, "in", "junk.bin"), "not dicom");
    const saved = { ...process.env };
    Object.assign(process.env, {
      MEDMLOPS_DEID_INPUT: join(dir, "in"),
      MEDMLOPS_DEID_OUTPUT: join(dir, "output"),
      MEDMLOPS_DEID_KEY_FILE: join(dir, "key"),
    });
    try {
      expect(await main(["init"], process.env)).toBe(3);
    } finally {
      process.env = saved;
    }
  });

  it("verify scores a result without leaks (exit 0) and lists leaks by tag only (exit 1)", async () => {
    await main([join(dir, "in"), join(dir, "out"), "--mirror-paths", "--key-file", join(dir, "key")]);
    const orig = join(dir, "in", "study1", "ct1.dcm");
    expect(await main(["verify", orig, join(dir, "out", "study1", "ct1.dcm")])).toBe(0);
    const good = JSON.parse(stdout);
    expect(good.leaks).toEqual([]);
    expect(good.score).toBe(100);
    stdout = "";
    // The original against itself: everything leaks.
    expect(await main(["verify", orig, orig])).toBe(1);
    const bad = JSON.parse(stdout);
    expect(bad.leaks.length).toBeGreaterThan(5);
    expect(bad.leaks.map((l: { tag: string }) => l.tag)).toContain("(0010,0010)");
    expect(stdout).not.toContain("SMITHSONIAN");
    // Folders: paired by relative path; UID consistency across the study.
    stdout = "";
    expect(await main(["verify", join(dir, "in"), join(dir, "out")])).toBe(0);
    expect(JSON.parse(stdout).files).toBe(2);
  });
});

describe("never partially written", () => {
  it("leaves no temporary files; an output folder that is a file fails once, before any file is processed", async () => {
    expect(await main([join(dir, "in"), join(dir, "out"), "--key-file", join(dir, "key")])).toBe(0);
    expect((await files(join(dir, "out"))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // A file where the output folder should be: exit 1 with one clear error, no report, nothing "quarantined".
    await writeFile(join(dir, "blocked"), "x");
    stderr = "";
    const code = await main([
      join(dir, "in"),
      join(dir, "blocked"),
      "--key-file",
      join(dir, "key"),
      "--report",
      join(dir, "r.json"),
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe("deid: output folder exists and is not a folder; nothing processed\n");
    await expect(readFile(join(dir, "r.json"))).rejects.toThrow(/ENOENT/);
  });
});
