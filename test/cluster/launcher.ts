import { execFile, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { get, type TlsClient } from "./http.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { withLock } from "./lock.ts";
import { fakeNodes } from "./nodes.ts";
import { BINARIES, type Binary, binPath, type ClusterPaths, clusterPaths, repoRoot } from "./paths.ts";
import { ensureNodePki, ensurePki, type Pki, pkiFiles } from "./pki.ts";
import { isOurProcess, readPid, recordedNames, startProcess, stopProcess } from "./processes.ts";
import { type ClusterState, readState, writeState } from "./state.ts";
import { downRealNode, NODE_IP, REAL_NODE, upRealNode } from "./real-node.ts";

/** Started in this order, stopped in reverse. */
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
type Component = (typeof COMPONENTS)[number];

/**
 * Controllers a Deployment/Job/Namespace/GC world needs. node-lifecycle is required: the API server taints every
 * new node node.kubernetes.io/not-ready:NoSchedule and only this controller lifts it once kwok reports Ready.
 */
export const CONTROLLERS = [
  "garbage-collector-controller",
  "node-lifecycle-controller",
  "deployment-controller",
  "replicaset-controller",
  "statefulset-controller",
  "daemonset-controller",
  "job-controller",
  "cronjob-controller",
  "ttl-after-finished-controller",
  "namespace-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "disruption-controller",
  "resourcequota-controller",
  "pod-garbage-collector-controller",
  "clusterrole-aggregation-controller",
  // Binds PersistentVolumeClaims to PersistentVolumes: model versions served from pvc:// need a Bound claim
  // before the scheduler places their pods.
  "persistentvolume-binder-controller",
  // The API server puts protection finalizers on every PVC and PV; without these controllers a namespace holding a
  // claim never finishes terminating.
  "persistentvolumeclaim-protection-controller",
  "persistentvolume-protection-controller",
];

// A /16 (65k ClusterIPs): each MedModel owns a stable Service plus one per version, and the 500-model benchmark
// needs room for them.
export const SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/16";

type Log = (msg: string) => void;
const defaultLog: Log = (m) => console.error(`[cluster] ${m}`);

export interface UpResult {
  kubeconfig: string;
  server: string;
  /** False when an already-running healthy cluster was reused. */
  started: boolean;
}

function adminTls(pki: Pki): TlsClient {
  return {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.clients.admin.cert),
    key: readFileSync(pki.clients.admin.key),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function pickPorts(): Promise<ClusterState["ports"]> {
  const seen = new Set<number>();
  const next = async () => {
    for (;;) {
      const p = await freePort();
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
  return {
    etcdClient: await next(),
    etcdPeer: await next(),
    apiserver: await next(),
    controllerManager: await next(),
    scheduler: await next(),
    kwok: await next(),
  };
}

/** Runs test/cluster/build.sh (a no-op when the binaries match the pinned go.mod/go.sum). */
export async function ensureBuilt(
  log: Log = defaultLog,
  paths: ClusterPaths = clusterPaths(),
): Promise<void> {
  const missing = BINARIES.filter((b) => !existsSync(binPath(b, paths)));
  if (missing.length > 0) {
    log(
      `building the control plane from Go modules into ${paths.bin} (missing: ${missing.join(", ")}). ` +
        `A cold build takes tens of minutes on 2 cores; progress: ${join(paths.state, "build.log")}`,
    );
  }
  mkdirSync(paths.state, { recursive: true });
  const buildLog = join(paths.state, "build.log");
  appendFileSync(buildLog, `==== ${new Date().toISOString()} test/cluster/build.sh\n`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [join(repoRoot, "test/cluster/build.sh")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MEDMLOPS_CLUSTER_DIR: paths.state },
    });
    let tail = "";
    const onData = (b: Buffer) => {
      const s = b.toString();
      appendFileSync(buildLog, s);
      tail = (tail + s).slice(-4000);
      for (const line of s.split("\n")) if (line.trim()) log(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`test/cluster/build.sh failed (exit ${code}):\n${tail}`)),
    );
  });
}

function componentArgs(c: Component, paths: ClusterPaths, pki: Pki, ports: ClusterState["ports"]): string[] {
  const kc = (n: string) => join(paths.state, `${n}.kubeconfig`);
  switch (c) {
    case "etcd":
      return [
        "--name=medmlops",
        `--data-dir=${paths.etcdData}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=medmlops=http://127.0.0.1:${ports.etcdPeer}`,
        // Throwaway test data: skip fsync so the API server is fast on a busy 2-core machine.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ];
    case "kube-apiserver":
      return [
        `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--cert-dir=${join(paths.state, "apiserver-certs")}`,
        // Node: the real node's kubelet (real-node.ts) reads only its own pods' Secrets and ConfigMaps.
        "--authorization-mode=Node,RBAC",
        `--kubelet-client-certificate=${join(pki.dir, "apiserver-kubelet-client.crt")}`,
        `--kubelet-client-key=${join(pki.dir, "apiserver-kubelet-client.key")}`,
        `--kubelet-certificate-authority=${pki.caCert}`,
        // Logs and exec reach the kubelet by its node IP, not a DNS name nobody serves.
        "--kubelet-preferred-address-types=InternalIP",
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        "--allow-privileged=true",
        // Loopback, single instance: no need to maintain the kubernetes Service endpoints.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
      ];
    case "kube-controller-manager":
      return [
        `--kubeconfig=${kc("controller-manager")}`,
        `--authentication-kubeconfig=${kc("controller-manager")}`,
        `--authorization-kubeconfig=${kc("controller-manager")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${ports.controllerManager}`,
        `--cert-dir=${join(paths.state, "controller-manager-certs")}`,
        `--controllers=${CONTROLLERS.join(",")}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        "--use-service-account-credentials=true",
        "--leader-elect=false",
        "--profiling=false",
      ];
    case "kube-scheduler":
      return [
        `--kubeconfig=${kc("scheduler")}`,
        `--authentication-kubeconfig=${kc("scheduler")}`,
        `--authorization-kubeconfig=${kc("scheduler")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${ports.scheduler}`,
        `--cert-dir=${join(paths.state, "scheduler-certs")}`,
        "--leader-elect=false",
        "--profiling=false",
      ];
    case "kwok":
      return [
        `--kubeconfig=${paths.kubeconfig}`,
        `--config=${paths.kwokStages}`,
        "--manage-all-nodes=false",
        // Heartbeat through node Leases (as kwokctl does), which the node-lifecycle controller watches.
        "--node-lease-duration-seconds=40",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        `--server-address=127.0.0.1:${ports.kwok}`,
        "--node-ip=127.0.0.1",
        "--cidr=10.244.0.0/16",
      ];
  }
}

function healthUrl(c: Component, ports: ClusterState["ports"]): string {
  switch (c) {
    case "etcd":
      return `http://127.0.0.1:${ports.etcdClient}/health`;
    case "kube-apiserver":
      return `https://127.0.0.1:${ports.apiserver}/readyz`;
    case "kube-controller-manager":
      return `https://127.0.0.1:${ports.controllerManager}/healthz`;
    case "kube-scheduler":
      return `https://127.0.0.1:${ports.scheduler}/healthz`;
    case "kwok":
      return `http://127.0.0.1:${ports.kwok}/healthz`;
  }
}

async function healthy(c: Component, ports: ClusterState["ports"], pki: Pki): Promise<boolean> {
  const tls: TlsClient = c === "kube-apiserver" ? adminTls(pki) : { insecure: true };
  const r = await get(healthUrl(c, ports), tls, 10_000);
  return r.status === 200;
}

function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

async function waitHealthy(
  c: Component,
  ports: ClusterState["ports"],
  pki: Pki,
  paths: ClusterPaths,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const bin = binPath(c as Binary, paths);
  while (Date.now() < deadline) {
    const pid = readPid(paths.pids, c);
    if (pid === undefined || !isOurProcess(pid, bin)) {
      throw new Error(
        `${c} exited during start-up; last log lines:\n${logTail(join(paths.logs, `${c}.log`))}`,
      );
    }
    if (await healthy(c, ports, pki)) return;
    await sleep(250);
  }
  throw new Error(
    `${c} not healthy at ${healthUrl(c, ports)} after ${timeoutMs} ms; last log lines:\n${logTail(join(paths.logs, `${c}.log`))}`,
  );
}

async function runKubectl(paths: ClusterPaths, args: string[], input?: string): Promise<string> {
  const bin = binPath("kubectl", paths);
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      [`--kubeconfig=${paths.kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? "");
  });
}

/** Why a cluster cannot be reused: undefined when it is healthy. */
async function unhealthyReason(paths: ClusterPaths): Promise<{ dead: boolean; why: string } | undefined> {
  const state = readState(paths.stateFile);
  if (!state || !existsSync(paths.kubeconfig)) return { dead: true, why: "no cluster state" };
  const pki = pkiFiles(paths.pki);
  for (const c of COMPONENTS) {
    const pid = readPid(paths.pids, c);
    if (pid === undefined || !isOurProcess(pid, binPath(c as Binary, paths)))
      return { dead: true, why: `${c} is not running` };
  }
  for (const c of COMPONENTS) {
    if (!(await healthy(c, state.ports, pki)))
      return { dead: false, why: `${c} does not answer ${healthUrl(c, state.ports)}` };
  }
  try {
    const out = await runKubectl(paths, ["get", "nodes", "-l", "type=kwok", "-o", "json"]);
    const nodes = JSON.parse(out) as {
      items: { status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    if (ready.length !== fakeNodes().length) return { dead: false, why: `${ready.length} fake nodes Ready` };
  } catch (err) {
    return { dead: false, why: err instanceof Error ? err.message : String(err) };
  }
  return undefined;
}

/** Healthy = state file, every component's process alive and answering its health endpoint, fake nodes Ready. */
export async function isHealthy(paths: ClusterPaths = clusterPaths()): Promise<boolean> {
  return (await unhealthyReason(paths)) === undefined;
}

/**
 * A running cluster on a busy 2-core machine can miss one health probe; other test runs may be using it, so only
 * a cluster whose processes are gone, or that stays unhealthy for ~20 s, is restarted.
 */
async function reusable(paths: ClusterPaths, log: Log): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const r = await unhealthyReason(paths);
    if (!r) return true;
    if (r.dead || attempt === 5) {
      if (!r.dead || existsSync(paths.stateFile)) log(`not reusing the cluster: ${r.why}`);
      return false;
    }
    await sleep(5000);
  }
}

/** True when the real node is asked for: `realNode: true`, or MEDMLOPS_REAL_NODE=1. */
export function realNodeWanted(opt?: boolean): boolean {
  return opt ?? process.env.MEDMLOPS_REAL_NODE === "1";
}

/**
 * Starts the control plane, or reuses a healthy running one. Builds the binaries first if needed. With `realNode`
 * (or MEDMLOPS_REAL_NODE=1) it also starts the real node real-0 (real-node.ts), or reuses it.
 */
export async function up(
  opts: { log?: Log; build?: boolean; paths?: ClusterPaths; realNode?: boolean } = {},
): Promise<UpResult> {
  const log = opts.log ?? defaultLog;
  const paths = opts.paths ?? clusterPaths();
  mkdirSync(paths.state, { recursive: true });
  return withLock(join(paths.state, "up.lock"), async () => {
    const r = await upLocked(log, paths, opts.build !== false);
    if (realNodeWanted(opts.realNode)) {
      if (opts.build !== false) await ensureNodeBuilt(log, paths);
      await upRealNode({ log, paths });
    }
    return r;
  });
}

/** Runs test/cluster/node/build.sh (kubelet, kube-proxy, pause image; a no-op when up to date). */
export async function ensureNodeBuilt(
  log: Log = defaultLog,
  paths: ClusterPaths = clusterPaths(),
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [join(repoRoot, "test/cluster/node/build.sh")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MEDMLOPS_CLUSTER_DIR: paths.state },
    });
    let tail = "";
    const onData = (b: Buffer) => {
      const s = b.toString();
      tail = (tail + s).slice(-4000);
      for (const line of s.split("\n")) if (line.trim()) log(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`test/cluster/node/build.sh failed (exit ${code}):\n${tail}`)),
    );
  });
}

async function upLocked(log: Log, paths: ClusterPaths, build: boolean): Promise<UpResult> {
  if (build) await ensureBuilt(log, paths);
  if (await reusable(paths, log)) {
    const state = readState(paths.stateFile);
    log(`reusing the running cluster (kubeconfig ${paths.kubeconfig})`);
    return {
      kubeconfig: paths.kubeconfig,
      server: `https://127.0.0.1:${state?.ports.apiserver}`,
      started: false,
    };
  }
  await down({ log, paths, quiet: true });
  const t0 = Date.now();
  // A fresh etcd each start: a half-dead previous cluster leaves nothing behind that tests could trip over.
  rmSync(paths.etcdData, { recursive: true, force: true });
  for (const d of [paths.state, paths.logs, paths.pids]) mkdirSync(d, { recursive: true });
  const pki = ensurePki(paths.pki);
  ensureNodePki(paths.pki, REAL_NODE, NODE_IP);
  const ports = await pickPorts();
  writeState(paths.stateFile, { startedAt: new Date().toISOString(), ports });
  const server = `https://127.0.0.1:${ports.apiserver}`;
  writeKubeconfig({
    file: paths.kubeconfig,
    server,
    caCert: pki.caCert,
    clientCert: pki.clients.admin.cert,
    clientKey: pki.clients.admin.key,
    user: "admin",
  });
  for (const n of ["controller-manager", "scheduler"] as const) {
    writeKubeconfig({
      file: join(paths.state, `${n}.kubeconfig`),
      server,
      caCert: pki.caCert,
      clientCert: pki.clients[n].cert,
      clientKey: pki.clients[n].key,
      user: `system:kube-${n}`,
    });
  }
  try {
    for (const c of COMPONENTS) {
      startProcess({
        name: c,
        command: binPath(c as Binary, paths),
        args: componentArgs(c, paths, pki, ports),
        logs: paths.logs,
        pids: paths.pids,
        cwd: paths.state,
      });
      await waitHealthy(c, ports, pki, paths, c === "kube-apiserver" ? 120_000 : 60_000);
      log(`${c} is up`);
    }
    await runKubectl(
      paths,
      ["apply", "--server-side", "--field-manager=medmlops-test-cluster", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: fakeNodes() }),
    );
    await runKubectl(paths, ["wait", "--for=condition=Ready", "node", "-l", "type=kwok", "--timeout=60s"]);
    // Pods cannot be created in a namespace before its default ServiceAccount exists (ServiceAccount admission).
    await waitForDefaultServiceAccount(paths, "default", 60_000);
  } catch (err) {
    log(`start-up failed; stopping what was started. Logs: ${paths.logs}`);
    await down({ log, paths, quiet: true });
    throw err;
  }
  log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s; kubeconfig ${paths.kubeconfig}`);
  return { kubeconfig: paths.kubeconfig, server, started: true };
}

async function waitForDefaultServiceAccount(
  paths: ClusterPaths,
  ns: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await runKubectl(paths, ["get", "serviceaccount", "default", "-n", ns, "-o", "name"]);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** Stops every component this launcher started (by recorded pid), newest first. */
export async function down(
  opts: { log?: Log; paths?: ClusterPaths; quiet?: boolean } = {},
): Promise<string[]> {
  const log = opts.log ?? defaultLog;
  const paths = opts.paths ?? clusterPaths();
  const stopped: string[] = [];
  // The real node first (its pods, kubelet, kube-proxy, containerd, host changes), while the API still answers.
  await downRealNode({ log, paths, quiet: opts.quiet });
  const names = recordedNames(paths.pids);
  const order = [...COMPONENTS].reverse().filter((c) => names.includes(c));
  for (const c of order) {
    if (await stopProcess(paths.pids, c, binPath(c as Binary, paths))) stopped.push(c);
  }
  rmSync(paths.stateFile, { force: true });
  if (!opts.quiet || stopped.length > 0)
    log(stopped.length ? `stopped ${stopped.join(", ")}` : "nothing was running");
  return stopped;
}
