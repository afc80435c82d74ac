// Helpers for integration tests against the test control plane (see docs/testing.md). Stable API:
// testKubeConfig, kubeconfigPath, kubectl, kubectlOk, helmBin, kubectlBin, freshNamespace, waitFor.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { binPath, clusterPaths } from "./paths.ts";

/** Path of the admin kubeconfig (system:masters) the global setup wrote. */
export function kubeconfigPath(): string {
  return process.env.MEDMLOPS_KUBECONFIG ?? clusterPaths().kubeconfig;
}

/** A KubeConfig for the test cluster, as cluster-admin. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export const kubectlBin = binPath("kubectl");
export const helmBin = binPath("helm");

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], input?: string, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        timeout: timeoutMs,
        env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") return reject(err);
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? "");
  });
}

/** Runs kubectl against the test cluster; never throws for a non-zero exit (check `code`). */
export function kubectl(args: string[], input?: string): Promise<CommandResult> {
  return run(kubectlBin, [`--kubeconfig=${kubeconfigPath()}`, ...args], input);
}

/** Like kubectl, but throws with stderr when the exit code is not 0; returns stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs helm with the test cluster's kubeconfig; never throws for a non-zero exit. */
/** Server-side applies a manifest file as the integration tests' field manager (idempotent, wins conflicts). */
export function applyFile(path: string): Promise<string> {
  return kubectlOk([
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=medmlops-integration-test",
    "-f",
    path,
  ]);
}

export function helm(args: string[], input?: string): Promise<CommandResult> {
  return run(helmBin, [`--kubeconfig=${kubeconfigPath()}`, ...args], input);
}

/**
 * Polls `fn` until it returns something other than undefined/false/null (and does not throw), then returns it.
 * On timeout, throws with the last error or returned value so the failure says what was still wrong.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<Exclude<T, undefined | false | null>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v as Exclude<T, undefined | false | null>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms (last: ${why})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface FreshNamespace {
  name: string;
  /** Deletes the namespace (the namespace controller then removes everything in it). */
  delete(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a namespace `<prefix>-<random>` labelled medmlops.io/test=true and waits until its default
 * ServiceAccount exists (pods are rejected before that). Call `delete()` in afterAll (or `await using`).
 */
export async function freshNamespace(prefix: string): Promise<FreshNamespace> {
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)
    .replace(/-+$/, "");
  const name = `${safe}-${randomBytes(3).toString("hex")}`;
  await core.createNamespace({ body: { metadata: { name, labels: { "medmlops.io/test": "true" } } } });
  await waitFor(() => core.readNamespacedServiceAccount({ name: "default", namespace: name }), 60_000);
  const del = async () => {
    try {
      await core.deleteNamespace({ name });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  };
  return { name, delete: del, [Symbol.asyncDispose]: del };
}
