// Leader election with real `medmlops operator --leader-elect` processes against the real API server:
// exactly one leads, a standby takes over when the leader dies or steps down, a replica whose lease was taken
// exits non-zero, every replica serves /healthz, /readyz and /metrics.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RestClient, restClientFromKubeConfig } from "../../operator/runtime/rest.ts";
import {
  type FreshNamespace,
  freshNamespace,
  kubeconfigPath,
  kubectlOk,
  testKubeConfig,
  waitFor,
} from "../cluster/client.ts";

const BIN = fileURLToPath(new URL("../../bin/medmlops.js", import.meta.url));
let ns: FreshNamespace;
let rest: RestClient;
const procs: Replica[] = [];

interface Replica {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exit: Promise<number | null>;
  port(): number | undefined;
  leading(): boolean;
  identity(): string | undefined;
}

function startReplica(leaseName: string): Replica {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "operator",
      "--leader-elect",
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${ns.name}`,
      `--lease-namespace=${ns.name}`,
      `--lease-name=${leaseName}`,
      "--metrics-port=0",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  const lines: Array<Record<string, unknown>> = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
      i = buf.indexOf("\n");
    }
  });
  child.stderr!.on("data", () => {});
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const r: Replica = {
    child,
    lines,
    exit,
    port: () =>
      lines.find((l) => l["msg"] === "health and metrics server listening")?.["port"] as number | undefined,
    leading: () => lines.some((l) => l["msg"] === "became leader"),
    identity: () => lines.find((l) => l["msg"] === "became leader")?.["identity"] as string | undefined,
  };
  procs.push(r);
  return r;
}

async function lease(
  name: string,
): Promise<{ spec?: { holderIdentity?: string; leaseTransitions?: number } }> {
  return rest.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/${name}`);
}

beforeAll(async () => {
  rest = restClientFromKubeConfig(testKubeConfig());
  // The registered controllers watch MedMLOps kinds: install the CRDs so the replicas' caches can sync.
  const crds = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [BIN, "crds"], { maxBuffer: 32 * 1024 * 1024 }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", "-"], crds);
  ns = await freshNamespace("rt-leader");
});

afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await p.exit;
  }
});

afterAll(async () => {
  await ns?.delete();
});

describe("leader election between operator processes", () => {
  it("elects exactly one leader; the standby takes over when the leader is killed", async () => {
    const a = startReplica("le-kill");
    const b = startReplica("le-kill");
    const first = await waitFor(() => (a.leading() ? a : b.leading() ? b : undefined), 60_000, 200);
    const standby = first === a ? b : a;
    // both serve health; readiness does not depend on leadership
    for (const r of [a, b]) {
      const port = await waitFor(() => r.port(), 30_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000);
    }
    expect((await lease("le-kill")).spec?.holderIdentity).toBe(first.identity());
    const standbyMetrics = await (await fetch(`http://127.0.0.1:${standby.port()}/metrics`)).text();
    expect(standbyMetrics).toMatch(/medmlops_operator_leader 0/);
    await new Promise((r) => setTimeout(r, 3_000)); // a few retry periods: still one leader
    expect(standby.leading()).toBe(false);

    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await waitFor(() => standby.leading(), 40_000, 100);
    const takeoverMs = Date.now() - killedAt;
    console.log(`leader election: takeover after SIGKILL in ${takeoverMs} ms (lease 15 s, retry 2 s)`);
    expect(takeoverMs).toBeLessThan(25_000);
    const l = await lease("le-kill");
    expect(l.spec?.holderIdentity).toBe(standby.identity());
    expect(l.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
  });

  it("a leader stopped with SIGTERM releases the lease (fast handover) and exits 0", async () => {
    const a = startReplica("le-term");
    await waitFor(() => a.leading(), 60_000);
    const b = startReplica("le-term");
    await waitFor(() => b.port(), 30_000);
    const stoppedAt = Date.now();
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
    await waitFor(() => b.leading(), 20_000, 100);
    const handoverMs = Date.now() - stoppedAt;
    console.log(`leader election: handover after SIGTERM in ${handoverMs} ms`);
    expect(handoverMs).toBeLessThan(8_000);
  });

  it("a replica whose lease is taken away stops and exits non-zero", async () => {
    const a = startReplica("le-lost");
    await waitFor(() => a.leading(), 60_000);
    // Take the lease away (retrying if the leader's renewal raced our write: writes carry resourceVersion).
    await waitFor(async () => {
      const current = await lease("le-lost");
      const now = new Date().toISOString().replace("Z", "000Z");
      await rest.request("PUT", `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/le-lost`, {
        body: {
          ...current,
          spec: { ...current.spec, holderIdentity: "intruder", renewTime: now, acquireTime: now },
        },
      });
      return true;
    }, 20_000);
    const code = await Promise.race([a.exit, new Promise((r) => setTimeout(() => r("timeout"), 20_000))]);
    expect(code).toBe(1);
    expect(a.lines.some((l) => l["msg"] === "leadership lost")).toBe(true);
  });
});
