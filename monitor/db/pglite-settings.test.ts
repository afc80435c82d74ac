import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { freshPgliteDir } from "../testing/index.ts";
import { openDb, PGLITE_SETTINGS } from "./index.ts";
import { parsePgliteSettings, settingsStartParams } from "./pglite-settings.ts";

describe("PGlite settings", () => {
  it("parses name=value lists and refuses what is not a plain setting", () => {
    expect(parsePgliteSettings("")).toEqual({});
    expect(parsePgliteSettings(" shared_buffers=32MB ,work_mem=2MB")).toEqual({
      shared_buffers: "32MB",
      work_mem: "2MB",
    });
    expect(() => parsePgliteSettings("=1")).toThrow(/name=value/);
    expect(() => parsePgliteSettings("Shared-Buffers=1")).toThrow(/setting name/);
    expect(() => parsePgliteSettings("work_mem=1 MB")).toThrow(/plain value/);
    expect(settingsStartParams({ a: "1", b: "x" })).toEqual(["-c", "a=1", "-c", "b=x"]);
  });

  it("starts the embedded engine with the defaults, and with settings given over them", async () => {
    const dir = await freshPgliteDir();
    try {
      const show = async (settings?: Record<string, string>) => {
        const db = await openDb({ dataDir: dir, pgliteSettings: settings });
        try {
          const { rows } = await db.query<{ sb: string; wm: string }>(
            "SELECT current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm",
          );
          return rows[0]!;
        } finally {
          await db.close();
        }
      };
      expect((await show()).sb).toBe(PGLITE_SETTINGS["shared_buffers"]);
      expect(await show({ shared_buffers: "32MB", work_mem: "2MB" })).toEqual({ sb: "32MB", wm: "2MB" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
