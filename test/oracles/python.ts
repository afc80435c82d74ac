/**
 * The Python that runs the statistics oracles (SciPy, statsmodels, scikit-learn, pinned in requirements.txt).
 *
 * Found, in order: $MEDMLOPS_ORACLE_PYTHON (exported by .ci/setup.d/30-python-oracles.sh), then the cached venv
 * .medmlops/venv when its stamp matches requirements.txt. Missing: under CI=true that is an error (a test that
 * needs an oracle fails, never skips); locally the venv is built here (python3 -m venv + pip install from PyPI, a
 * few minutes the first time), the same way the CI script builds it.
 *
 * runOracle sends every comparison of one test file to one Python process (JSON in, JSON out), so the suite pays
 * the interpreter's start-up and the libraries' imports once per file.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..", "..");
const REQUIREMENTS = join(import.meta.dirname, "requirements.txt");
const SCRIPT = join(import.meta.dirname, "stats_oracle.py");
export const ORACLE_VENV = join(ROOT, ".medmlops", "venv");
const STAMP = ".requirements.sha256";

function requirementsHash(): string {
  return createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex");
}

function venvReady(dir: string): boolean {
  const stamp = join(dir, STAMP);
  return (
    existsSync(join(dir, "bin", "python")) &&
    existsSync(stamp) &&
    readFileSync(stamp, "utf8").trim() === requirementsHash()
  );
}

async function buildVenv(): Promise<void> {
  // Built beside the final place and renamed into it, so a concurrent test file never sees half a venv.
  const tmp = `${ORACLE_VENV}.tmp-${process.pid}`;
  await mkdir(join(ROOT, ".medmlops"), { recursive: true });
  await rm(tmp, { recursive: true, force: true });
  try {
    await run("python3", ["-m", "venv", tmp]);
    await run(join(tmp, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS], {
      maxBuffer: 64 * 1024 * 1024,
    });
    await writeFile(join(tmp, STAMP), `${requirementsHash()}\n`);
    if (venvReady(ORACLE_VENV)) return; // another file won the race
    await rm(ORACLE_VENV, { recursive: true, force: true });
    await rename(tmp, ORACLE_VENV);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

let pending: Promise<string> | undefined;

/** Path of a Python with the oracle libraries. Rejects under CI=true when none is set up. */
export function oraclePython(): Promise<string> {
  pending ??= (async () => {
    const fromEnv = process.env.MEDMLOPS_ORACLE_PYTHON;
    if (fromEnv) {
      if (!existsSync(fromEnv)) throw new Error(`MEDMLOPS_ORACLE_PYTHON=${fromEnv} does not exist`);
      return fromEnv;
    }
    if (!venvReady(ORACLE_VENV)) {
      if (process.env.CI === "true") {
        throw new Error(
          "the statistics oracles need SciPy/statsmodels/scikit-learn: run .ci/setup.d/30-python-oracles.sh " +
            "(it builds .medmlops/venv and exports MEDMLOPS_ORACLE_PYTHON)",
        );
      }
      await buildVenv();
    }
    return join(ORACLE_VENV, "bin", "python");
  })();
  return pending;
}

export type OracleTask = { op: string } & Record<string, unknown>;

/** Runs every task in one Python process; resolves with one result per task, in order. */
export async function runOracle<T = unknown>(tasks: OracleTask[]): Promise<T[]> {
  const python = await oraclePython();
  const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  const done = new Promise<number>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code ?? 1));
  });
  child.stdin.end(JSON.stringify({ tasks }));
  const code = await done;
  if (code !== 0)
    throw new Error(`oracle exited ${code}: ${Buffer.concat(err).toString("utf8").slice(-2000)}`);
  const { results } = JSON.parse(Buffer.concat(out).toString("utf8")) as { results: T[] };
  results.forEach((r, i) => {
    if (r && typeof r === "object" && "error" in r)
      throw new Error(`oracle task ${i} (${tasks[i]!.op}) failed: ${(r as { error: string }).error}`);
  });
  return results;
}
