/**
 * A real PostgreSQL server for tests. CI starts it in .ci/setup.d/20-postgresql.sh and exports
 * MEDMLOPS_TEST_DATABASE_URL; a developer's run starts the same server with test/support/postgres-server.sh
 * (Debian's `postgresql` must be installed). Under CI=true a missing server fails the test — never a skip.
 * Each test gets its own database, dropped afterwards.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";

let baseUrl: string | undefined;

export function postgresServerUrl(): string {
  if (baseUrl) return baseUrl;
  const fromEnv = process.env["MEDMLOPS_TEST_DATABASE_URL"];
  if (fromEnv) {
    baseUrl = fromEnv;
    return baseUrl;
  }
  if (process.env["CI"] === "true") {
    throw new Error(
      "MEDMLOPS_TEST_DATABASE_URL is not set: .ci/setup.d/20-postgresql.sh must start PostgreSQL before the tests",
    );
  }
  const script = fileURLToPath(new URL("./postgres-server.sh", import.meta.url));
  try {
    baseUrl = execFileSync("bash", [script, "start"], { encoding: "utf8", timeout: 120_000 }).trim();
  } catch (err) {
    throw new Error(
      `cannot start PostgreSQL with test/support/postgres-server.sh (apt-get install postgresql?): ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  return baseUrl;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server. */
export async function freshPostgresDatabase(): Promise<TestDatabase> {
  const server = postgresServerUrl();
  const name = `medmlops_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
