// The real kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) for integration tests: test/cluster/kstatus/ is a tiny Go
// module like the other tools here; it is built on demand into the cluster dir's bin/ (seconds when the module
// cache is warm, a few minutes cold) and rebuilt when its go.mod, go.sum or main.go change. It is not part of
// build.sh's default set, so the control plane's start never waits for it.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLock } from "./lock.ts";
import { clusterPaths, repoRoot } from "./paths.ts";

const SOURCE = join(repoRoot, "test/cluster/kstatus");
const FILES = ["go.mod", "go.sum", "main.go"];

export interface KstatusResult {
  name: string;
  /** InProgress | Failed | Current | Terminating | NotFound | Unknown */
  status: string;
  message: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      PATH: `${process.env.PATH ?? ""}:/usr/local/go/bin`,
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
      GOFLAGS: "-mod=readonly",
    };
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", (e) =>
      reject(new Error(`${cmd}: ${e.message} (is Go installed? see docs/testing.md)`)),
    );
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(-2000)}`)),
    );
    child.stdin.end(opts.input ?? "");
  });
}

/** The path of the kstatus-check binary, building it first when it is missing or stale. */
export async function kstatusChecker(): Promise<string> {
  const { bin } = clusterPaths();
  mkdirSync(bin, { recursive: true });
  const target = join(bin, "kstatus-check");
  const stampFile = join(bin, ".stamp-kstatus");
  const hash = createHash("sha256");
  for (const f of FILES) hash.update(readFileSync(join(SOURCE, f)));
  const want = hash.digest("hex");
  const fresh = () => existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === want;
  if (fresh()) return target;
  await withLock(join(bin, "kstatus-build.lock"), async () => {
    if (fresh()) return;
    await run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", `${target}.tmp`, "."], { cwd: SOURCE });
    renameSync(`${target}.tmp`, target);
    writeFileSync(stampFile, want);
  });
  return target;
}

/** What kstatus computes for each object (plain JSON as the API server returns it). */
export async function kstatusOf(objects: readonly object[]): Promise<KstatusResult[]> {
  const out = await run(await kstatusChecker(), [], { input: JSON.stringify(objects) });
  return JSON.parse(out) as KstatusResult[];
}
