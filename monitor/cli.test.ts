import { describe, expect, it } from "vitest";
import { parseFlags } from "./cli.ts";

describe("medmlops monitor flags", () => {
  it("defaults to PGlite in ./medmlops-monitor-data on port 8090", () => {
    expect(parseFlags([], {})).toMatchObject({
      port: 8090,
      "data-dir": "./medmlops-monitor-data",
      host: "0.0.0.0",
    });
  });
  it("takes PostgreSQL from MEDMLOPS_DATABASE_URL unless a flag names an engine", () => {
    const env = { MEDMLOPS_DATABASE_URL: "postgres://u@db:5432/m" };
    expect(parseFlags([], env)).toMatchObject({ "database-url": "postgres://u@db:5432/m" });
    expect(parseFlags(["--data-dir", "/d"], env)).toMatchObject({ "data-dir": "/d" });
    expect(parseFlags(["--data-dir", "/d"], env)).not.toHaveProperty("database-url");
  });
  it("refuses both engines, a bad URL and a bad port", () => {
    expect(() => parseFlags(["--data-dir", "/d", "--database-url", "postgres://x/y"], {})).toThrow(
      /not both/,
    );
    expect(() => parseFlags(["--database-url", "mysql://x"], {})).toThrow(/postgres:\/\//);
    expect(() => parseFlags(["--port", "70000"], {})).toThrow(/--port/);
    expect(() => parseFlags(["--bogus"], {})).toThrow();
  });
  it("takes --retention-days from the flag or MEDMLOPS_MONITOR_RETENTION_DAYS, whole days ≥ 1", () => {
    expect(parseFlags([], {})).not.toHaveProperty("retention-days");
    expect(parseFlags(["--retention-days", "30"], {})).toMatchObject({ "retention-days": 30 });
    expect(parseFlags([], { MEDMLOPS_MONITOR_RETENTION_DAYS: "90" })).toMatchObject({ "retention-days": 90 });
    expect(() => parseFlags(["--retention-days", "0"], {})).toThrow(/--retention-days/);
    expect(() => parseFlags(["--retention-days", "1.5"], {})).toThrow(/--retention-days/);
  });

  it("serves metrics on a port of its own: 9091 by default, validated, never the API port", () => {
    expect(parseFlags([], {})).toMatchObject({ "metrics-port": 9091 });
    expect(parseFlags(["--metrics-port", "0"], {})).toMatchObject({ "metrics-port": 0 });
    expect(parseFlags(["--port", "0", "--metrics-port", "0"], {})).toMatchObject({ port: 0 });
    expect(() => parseFlags(["--metrics-port", "65536"], {})).toThrow(
      /--metrics-port: must be a port number/,
    );
    expect(() => parseFlags(["--metrics-port", "nine"], {})).toThrow(/--metrics-port/);
    expect(() => parseFlags(["--port", "9000", "--metrics-port", "9000"], {})).toThrow(
      /--metrics-port must differ from --port/,
    );
  });

  it("takes Postgres settings for PGlite from MEDMLOPS_PGLITE_SETTINGS and refuses anything else", () => {
    expect(parseFlags([], {})).toMatchObject({ pgliteSettings: {} });
    expect(parseFlags([], { MEDMLOPS_PGLITE_SETTINGS: "shared_buffers=32MB, work_mem=2MB" })).toMatchObject({
      pgliteSettings: { shared_buffers: "32MB", work_mem: "2MB" },
    });
    expect(() => parseFlags([], { MEDMLOPS_PGLITE_SETTINGS: "shared_buffers" })).toThrow(/name=value/);
    expect(() => parseFlags([], { MEDMLOPS_PGLITE_SETTINGS: "x=1;DROP" })).toThrow(
      /MEDMLOPS_PGLITE_SETTINGS/,
    );
  });

  it("reads the log level from the environment", () => {
    expect(parseFlags([], { MEDMLOPS_LOG_LEVEL: "debug" })).toMatchObject({ "log-level": "debug" });
  });
});
