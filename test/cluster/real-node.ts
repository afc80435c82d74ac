/**
 * `real-0`: a real node beside the kwok ones. A kubelet (built from the same k8s.io/kubernetes module as the
 * control plane, test/cluster/node/), Debian's containerd and runc, the bridge CNI plugin and kube-proxy in iptables
 * mode, so the operator's pods really start: init containers fetch models, probes hit real sidecars, Services route.
 *
 * Opt-in (MEDMLOPS_REAL_NODE=1, `npm run cluster:up -- --real-node`, or the containers test project): the shared
 * kwok cluster is not touched otherwise. The node is tainted `medmlops.io/real-node=true:NoSchedule`, so only pods
 * that tolerate it (and select `medmlops.io/node=real`) land there; everything else stays on kwok.
 *
 * Every host change is listed in `real-node/host.json` before it is made and undone by `downRealNode` (iptables
 * chains and rules, the bridge, mounts, cgroups, ip_forward, /run state); `hostSnapshot()` lets a test compare the
 * host before `up` and after `down`. See docs/testing.md "The real node".
 */
import { execFile, execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeKubeconfig } from "./kubeconfig.ts";
import { type ClusterPaths, clusterPaths, repoRoot } from "./paths.ts";
import { ensureNodePki, pkiFiles } from "./pki.ts";
import { isOurProcess, readPid, startProcess, stopProcess } from "./processes.ts";

export const REAL_NODE = "real-0";
export const REAL_NODE_LABEL = { "medmlops.io/node": "real" } as const;
export const REAL_NODE_TAINT = { key: "medmlops.io/real-node", value: "true", effect: "NoSchedule" } as const;
/** What a pod (or a MedModel's spec.serving) sets to run on real-0. */
export const REAL_NODE_PLACEMENT = {
  nodeSelector: { ...REAL_NODE_LABEL },
  tolerations: [{ key: REAL_NODE_TAINT.key, operator: "Equal", value: "true", effect: "NoSchedule" }],
};
export const IMAGE_REF = "localhost/medmlops:dev";
export const PAUSE_REF = "localhost/pause:3.10";
/** Pod network of real-0: the bridge's own address is the node IP (the kubelet refuses a loopback node IP). */
export const POD_CIDR = "10.250.0.0/24";
export const NODE_IP = "10.250.0.1";
export const BRIDGE = "mmobr0";
/** kwok's fake pod IPs: never routed anywhere (a guard rule rejects them). */
const KWOK_POD_CIDR = "10.244.0.0/16";
const GUARD_CHAIN = "MEDMLOPS-GUARD";
const CNI_BIN = "/usr/lib/cni";

type Log = (m: string) => void;
const defaultLog: Log = (m) => console.error(`[real-node] ${m}`);

interface NodePaths {
  dir: string;
  run: string;
  socket: string;
  containerdRoot: string;
  containerdConfig: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  proxyConfig: string;
  proxyKubeconfig: string;
  cniConf: string;
  cniData: string;
  host: string;
}

export function nodePaths(paths: ClusterPaths = clusterPaths()): NodePaths {
  const dir = join(paths.state, "real-node");
  // Unix socket paths are limited to 108 bytes: containerd's state lives under /run, named per cluster dir.
  const run = `/run/medmlops-${createHash("sha256").update(paths.state).digest("hex").slice(0, 8)}`;
  return {
    dir,
    run,
    socket: join(run, "containerd.sock"),
    containerdRoot: join(dir, "containerd"),
    containerdConfig: join(dir, "containerd.toml"),
    kubeletRoot: join(dir, "kubelet"),
    kubeletConfig: join(dir, "kubelet.yaml"),
    kubeletKubeconfig: join(dir, "kubelet.kubeconfig"),
    proxyConfig: join(dir, "kube-proxy.yaml"),
    proxyKubeconfig: join(dir, "kube-proxy.kubeconfig"),
    cniConf: join(dir, "net.d"),
    cniData: join(dir, "cni-ipam"),
    host: join(dir, "host.json"),
  };
}

const which = (cmd: string) => {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
};

/** Why this machine cannot run the real node (undefined when it can). */
export function realNodeUnsupported(paths: ClusterPaths = clusterPaths()): string | undefined {
  if (process.getuid?.() !== 0)
    return "the real node needs root (network namespaces, mounts, cgroups, iptables)";
  const missing = ["containerd", "ctr", "runc", "iptables", "ip"].filter((c) => !which(c));
  if (!existsSync(join(CNI_BIN, "bridge"))) missing.push("containernetworking-plugins");
  if (missing.length) return `missing ${missing.join(", ")}: run bash .ci/setup.d/60-containers.sh`;
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay"))
    return "the kernel has no overlay filesystem";
  if (!existsSync("/sys/fs/cgroup/memory") && !existsSync("/sys/fs/cgroup/cgroup.controllers"))
    return "no cgroup hierarchy mounted at /sys/fs/cgroup";
  for (const b of ["kubelet", "kube-proxy", "pause.oci.tar"])
    if (!existsSync(join(paths.bin, b))) return `${b} is not built: run bash test/cluster/node/build.sh`;
  return undefined;
}

function sh(cmd: string, args: string[], opts: { input?: string; ok?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      input: opts.input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    if (opts.ok) return "";
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

async function kubectl(paths: ClusterPaths, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(paths.bin, "kubectl"),
      [`--kubeconfig=${paths.kubeconfig}`, ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? "");
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

// --- what the host looks like, to compare before up and after down ---------------------------------------------

export interface HostSnapshot {
  ipForward: string;
  links: string[];
  /** "table chain" of every iptables/ip6tables chain, plus the number of rules. */
  iptables: string[];
  mounts: string[];
  cgroups: string[];
  runDirs: string[];
}

function chains(save: string): string[] {
  const out: string[] = [];
  let table = "";
  let rules = 0;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    else if (line.startsWith(":")) out.push(`${table} ${line.slice(1).split(" ")[0]}`);
    else if (line.startsWith("-A")) rules++;
  }
  return [...out.sort(), `rules ${rules}`];
}

function cgroupDirs(): string[] {
  const root = "/sys/fs/cgroup";
  const out: string[] = [];
  for (const ctl of existsSync(root) ? readdirSync(root) : []) {
    const d = join(root, ctl);
    try {
      if (!statSync(d).isDirectory()) continue;
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) out.push(`${ctl}/${e.name}`);
    } catch {
      // not a hierarchy
    }
  }
  return out.sort();
}

export function hostSnapshot(): HostSnapshot {
  return {
    ipForward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(),
    links: sh("ip", ["-o", "link", "show"])
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
      .sort(),
    iptables: [
      ...chains(sh("iptables-save", [], { ok: true })).map((c) => `v4 ${c}`),
      ...chains(sh("ip6tables-save", [], { ok: true })).map((c) => `v6 ${c}`),
    ],
    mounts: readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")[1] ?? "")
      .sort(),
    cgroups: cgroupDirs(),
    runDirs: readdirSync("/run")
      .filter((d) => d.startsWith("medmlops-") || d === "containerd" || d === "netns")
      .sort(),
  };
}

/** Lines that differ between two snapshots ("+ x" only after, "- x" only before). */
export function hostDiff(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const k of Object.keys(before) as (keyof HostSnapshot)[]) {
    const a = before[k];
    const b = after[k];
    if (typeof a === "string" || typeof b === "string") {
      if (a !== b) out.push(`${k}: ${a} -> ${b}`);
      continue;
    }
    for (const x of b) if (!a.includes(x)) out.push(`+ ${k} ${x}`);
    for (const x of a) if (!b.includes(x)) out.push(`- ${k} ${x}`);
  }
  return out;
}

// --- up ----------------------------------------------------------------------------------------------------------

export interface RealNodeState {
  snapshot: HostSnapshot;
  ports: { kubelet: number; kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number };
}

function containerdToml(np: NodePaths): string {
  return `version = 2
root = "${np.containerdRoot}"
state = "${join(np.run, "state")}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${np.socket}"
[ttrpc]
  address = "${np.socket}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_REF}"
  # This VM lacks CAP_SYS_RESOURCE: without it every sandbox fails ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${np.cniConf}"
`;
}

function cniConflist(np: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "medmlops",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            dataDir: np.cniData,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

function kubeletYaml(np: NodePaths, paths: ClusterPaths, ports: RealNodeState["ports"]): string {
  const pki = pkiFiles(paths.pki);
  const node = ensureNodePki(paths.pki, REAL_NODE, NODE_IP);
  return JSON.stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: NODE_IP,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    tlsCertFile: node.kubeletServing.cert,
    tlsPrivateKeyFile: node.kubeletServing.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pki.caCert },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${np.socket}`,
    // This machine: cgroup v1 without systemd, swap allowed.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    failSwapOn: false,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ["pods"],
    resolvConf: "",
    clusterDomain: "cluster.local",
    // A test node on a shared disk: evict only when really short, never garbage-collect the local images.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 30,
    nodeStatusUpdateFrequency: "4s",
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
    registerWithTaints: [REAL_NODE_TAINT],
    staticPodPath: "",
  });
}

function proxyYaml(np: NodePaths, ports: RealNodeState["ports"]): string {
  return JSON.stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clientConnection: { kubeconfig: np.proxyKubeconfig },
    hostnameOverride: REAL_NODE,
    bindAddress: NODE_IP,
    clusterCIDR: POD_CIDR,
    healthzBindAddress: `127.0.0.1:${ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${ports.proxyMetrics}`,
    // Leave the host's conntrack sysctls alone (nothing to undo).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    iptables: { syncPeriod: "5s", minSyncPeriod: "0s" },
    nodePortAddresses: [`${NODE_IP}/32`],
  });
}

function ctr(np: NodePaths, args: string[], ok = false): string {
  return sh("ctr", ["--address", np.socket, "--namespace", "k8s.io", ...args], { ok });
}

/** Imports an OCI archive into the node's containerd (`ctr images import --base-name`). */
export function importImage(archive: string, baseName: string, paths: ClusterPaths = clusterPaths()): void {
  const np = nodePaths(paths);
  ctr(np, ["images", "import", "--base-name", baseName, "--no-unpack=false", archive]);
}

/**
 * SIGKILLs a running container of real-0 from the host, as a crash would (`containerd://<id>` from a pod's
 * containerStatuses). Returns false when the task is already gone.
 */
export function killContainer(containerId: string, paths: ClusterPaths = clusterPaths()): boolean {
  const id = containerId.replace(/^containerd:\/\//, "");
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`not a containerd container id: ${containerId}`);
  try {
    ctr(nodePaths(paths), ["tasks", "kill", "-s", "SIGKILL", id]);
    return true;
  } catch {
    return false;
  }
}

function readNodeState(np: NodePaths): RealNodeState | undefined {
  try {
    return JSON.parse(readFileSync(np.host, "utf8")) as RealNodeState;
  } catch {
    return undefined;
  }
}

function running(paths: ClusterPaths, name: string, command: string): boolean {
  const pid = readPid(paths.pids, name);
  return pid !== undefined && isOurProcess(pid, command);
}

const CONTAINERD = () => which("containerd") ?? "/usr/bin/containerd";

/** True when containerd, the kubelet and kube-proxy of real-0 run and the node is Ready. */
export async function realNodeHealthy(paths: ClusterPaths = clusterPaths()): Promise<boolean> {
  if (!running(paths, "containerd", CONTAINERD())) return false;
  if (!running(paths, "kubelet", join(paths.bin, "kubelet"))) return false;
  if (!running(paths, "kube-proxy", join(paths.bin, "kube-proxy"))) return false;
  try {
    const out = await kubectl(paths, [
      "get",
      "node",
      REAL_NODE,
      "-o",
      "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
    ]);
    return out.trim() === "True";
  } catch {
    return false;
  }
}

/**
 * Starts real-0 on the running control plane (or reuses it when healthy). Imports the project image from
 * `imageArchive` (default .medmlops/image/medmlops-dev.oci.tar) when it exists.
 */
export async function upRealNode(
  opts: { log?: Log; paths?: ClusterPaths; imageArchive?: string } = {},
): Promise<void> {
  const log = opts.log ?? defaultLog;
  const paths = opts.paths ?? clusterPaths();
  const np = nodePaths(paths);
  const why = realNodeUnsupported(paths);
  if (why) throw new Error(`cannot start the real node ${REAL_NODE}: ${why}`);
  const archive = opts.imageArchive ?? join(repoRoot, ".medmlops", "image", "medmlops-dev.oci.tar");
  if (await realNodeHealthy(paths)) {
    if (existsSync(archive)) importImage(archive, "localhost/medmlops", paths);
    log(`reusing the running real node ${REAL_NODE}`);
    return;
  }
  await downRealNode({ log, paths, quiet: true });
  const t0 = Date.now();
  mkdirSync(np.dir, { recursive: true });
  // The snapshot is written before the first host change, so down can always compare against it.
  const ports = {
    kubelet: await freePort(),
    kubeletHealthz: await freePort(),
    proxyHealthz: await freePort(),
    proxyMetrics: await freePort(),
  };
  const state: RealNodeState = { snapshot: hostSnapshot(), ports };
  writeFileSync(np.host, JSON.stringify(state, null, 2));
  if (state.snapshot.links.includes(BRIDGE))
    throw new Error(
      `a bridge ${BRIDGE} already exists (another real node on this machine?); not touching it`,
    );

  try {
    // The pod bridge, made before the kubelet so its address can be the node IP; the bridge plugin reuses it.
    sh("ip", ["link", "add", BRIDGE, "type", "bridge"]);
    sh("ip", ["addr", "add", `${NODE_IP}/24`, "dev", BRIDGE]);
    sh("ip", ["link", "set", BRIDGE, "up"]);
    // Pods talk to each other and to the host, never beyond it; kwok's fake pod IPs are rejected, not routed.
    sh("iptables", ["-N", GUARD_CHAIN]);
    sh("iptables", ["-A", GUARD_CHAIN, "-i", BRIDGE, "-o", BRIDGE, "-j", "RETURN"]);
    sh("iptables", ["-A", GUARD_CHAIN, "-i", BRIDGE, "-j", "REJECT"]);
    sh("iptables", ["-A", GUARD_CHAIN, "-d", KWOK_POD_CIDR, "-j", "REJECT"]);
    sh("iptables", ["-I", "FORWARD", "1", "-j", GUARD_CHAIN]);
    sh("iptables", ["-I", "OUTPUT", "1", "-j", GUARD_CHAIN]);

    for (const d of [np.containerdRoot, np.kubeletRoot, np.cniConf, np.cniData, np.run])
      mkdirSync(d, { recursive: true });
    writeFileSync(np.containerdConfig, containerdToml(np));
    writeFileSync(join(np.cniConf, "10-medmlops.conflist"), cniConflist(np));
    startProcess({
      name: "containerd",
      command: CONTAINERD(),
      args: ["--config", np.containerdConfig],
      logs: paths.logs,
      pids: paths.pids,
    });
    const deadline = Date.now() + 30_000;
    while (!ctr(np, ["version"], true)) {
      if (Date.now() > deadline)
        throw new Error(
          `containerd did not answer on ${np.socket}; see ${join(paths.logs, "containerd.log")}`,
        );
      await sleep(250);
    }
    log("containerd is up");
    importImage(join(paths.bin, "pause.oci.tar"), "localhost/pause", paths);
    if (existsSync(archive)) importImage(archive, "localhost/medmlops", paths);
    else log(`no project image at ${archive} (npm run image); pods using ${IMAGE_REF} will not start`);
    log(
      `images imported: ${ctr(np, ["images", "ls", "-q"])
        .split("\n")
        .filter((l) => l.startsWith("localhost/"))
        .join(", ")}`,
    );

    // The node's credentials (issued once with the cluster CA) and RBAC for the node (the API server may run
    // without the Node authorizer if it was started before this file existed).
    const node = ensureNodePki(paths.pki, REAL_NODE, NODE_IP);
    const pki = pkiFiles(paths.pki);
    const server = readFileSync(paths.kubeconfig, "utf8").match(/server: (\S+)/)?.[1] ?? "";
    writeKubeconfig({
      file: np.kubeletKubeconfig,
      server,
      caCert: pki.caCert,
      clientCert: node.kubelet.cert,
      clientKey: node.kubelet.key,
      user: `system:node:${REAL_NODE}`,
    });
    writeKubeconfig({
      file: np.proxyKubeconfig,
      server,
      caCert: pki.caCert,
      clientCert: node.kubeProxy.cert,
      clientKey: node.kubeProxy.key,
      user: "system:kube-proxy",
    });
    await kubectl(
      paths,
      ["apply", "--server-side", "--field-manager=medmlops-test-cluster", "-f", "-"],
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "medmlops-test:real-node" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: `system:node:${REAL_NODE}` }],
      }),
    );

    writeFileSync(np.kubeletConfig, kubeletYaml(np, paths, ports));
    startProcess({
      name: "kubelet",
      command: join(paths.bin, "kubelet"),
      args: [
        `--config=${np.kubeletConfig}`,
        `--kubeconfig=${np.kubeletKubeconfig}`,
        `--root-dir=${np.kubeletRoot}`,
        `--hostname-override=${REAL_NODE}`,
        `--node-ip=${NODE_IP}`,
        `--node-labels=type=real,${Object.entries(REAL_NODE_LABEL)
          .map(([k, v]) => `${k}=${v}`)
          .join(",")}`,
        "--v=1",
      ],
      logs: paths.logs,
      pids: paths.pids,
    });
    writeFileSync(np.proxyConfig, proxyYaml(np, ports));
    startProcess({
      name: "kube-proxy",
      command: join(paths.bin, "kube-proxy"),
      args: [`--config=${np.proxyConfig}`, "--v=1"],
      logs: paths.logs,
      pids: paths.pids,
    });
    const ready = Date.now() + 120_000;
    for (;;) {
      if (!running(paths, "kubelet", join(paths.bin, "kubelet")))
        throw new Error(`the kubelet exited; see ${join(paths.logs, "kubelet.log")}`);
      if (await realNodeHealthy(paths)) break;
      if (Date.now() > ready)
        throw new Error(`${REAL_NODE} not Ready after 120 s; see ${join(paths.logs, "kubelet.log")}`);
      await sleep(500);
    }
  } catch (err) {
    log(`real node start-up failed; undoing its host changes. Logs: ${paths.logs}`);
    await downRealNode({ log, paths, quiet: true });
    throw err;
  }
  log(`${REAL_NODE} Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (containerd, kubelet, kube-proxy)`);
}

// --- down --------------------------------------------------------------------------------------------------------

function unmountUnder(prefixes: string[]): void {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " ") ?? "")
    .filter((m) => prefixes.some((p) => m === p || m.startsWith(`${p}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) sh("umount", ["-l", m], { ok: true });
}

function removeCgroups(before: string[]): void {
  for (const dir of cgroupDirs()) {
    if (before.includes(dir)) continue;
    // Depth-first: a cgroup directory only goes when its children are gone (and its processes).
    const rm = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rm(join(d, e.name));
      try {
        rmdirSync(d);
      } catch {
        // still has a process; reported by the host diff
      }
    };
    rm(join("/sys/fs/cgroup", dir));
  }
}

function removeIptables(before: string[]): void {
  for (const [v, save, bin] of [
    ["v4", "iptables-save", "iptables"],
    ["v6", "ip6tables-save", "ip6tables"],
  ] as const) {
    if (!which(bin)) continue;
    // Our guard first (jumps from built-in chains), then every chain that was not there before.
    for (const base of ["FORWARD", "OUTPUT"])
      for (let i = 0; i < 5; i++) sh(bin, ["-D", base, "-j", GUARD_CHAIN], { ok: true });
    const added = chains(sh(save, [], { ok: true }))
      .filter((c) => !c.startsWith("rules ") && !before.includes(`${v} ${c}`))
      .map((c) => c.split(" ") as [string, string]);
    // Jumps to the added chains from chains that stay (e.g. -A INPUT -j KUBE-FIREWALL), then the chains.
    const addedNames = new Set(added.map(([, c]) => c));
    for (const line of sh(save, [], { ok: true }).split("\n")) {
      const m = line.match(/^-A (\S+) (.*-j (\S+).*)$/);
      if (m && addedNames.has(m[3] ?? "") && !addedNames.has(m[1] ?? "")) {
        const table = findTable(sh(save, [], { ok: true }), line);
        sh(bin, ["-t", table, "-D", m[1] ?? "", ...splitRule(m[2] ?? "")], { ok: true });
      }
    }
    for (const [table, chain] of added) sh(bin, ["-t", table, "-F", chain], { ok: true });
    for (const [table, chain] of added) sh(bin, ["-t", table, "-X", chain], { ok: true });
    // iptables-nft leaves the tables it created (filter, nat, mangle with their built-in chains) behind, empty:
    // delete those that did not exist before, when they hold no rule (Debian's nftables: `nft`).
    if (!which("nft")) continue;
    const save2 = sh(save, [], { ok: true });
    const tablesBefore = new Set(before.filter((c) => c.startsWith(`${v} `)).map((c) => c.split(" ")[1]));
    for (const block of save2.split(/^\*/m).slice(1)) {
      const table = block.split("\n")[0]?.trim() ?? "";
      if (tablesBefore.has(table) || /^-A /m.test(block)) continue;
      sh("nft", ["delete", "table", v === "v4" ? "ip" : "ip6", table], { ok: true });
    }
  }
}

function removeIfOnlyEmptyDirs(dir: string): void {
  if (!existsSync(dir)) return;
  const onlyDirs = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).every((e) => e.isDirectory() && onlyDirs(join(d, e.name)));
  if (onlyDirs(dir)) rmSync(dir, { recursive: true, force: true });
}

function findTable(save: string, rule: string): string {
  let table = "filter";
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    if (line === rule) return table;
  }
  return table;
}

/** Splits an iptables-save rule into arguments (quoted comments stay one argument). */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1] : (m[2] ?? ""),
  );
}

/**
 * Stops real-0 and undoes its host changes: pods' containers, kube-proxy (and its rules: `kube-proxy --cleanup`),
 * the kubelet, containerd and its shims, mounts under the node's folders, the cgroups and iptables chains that
 * were not there before, the bridge, ip_forward, /run state and the Node object. Returns the differences that
 * remain against the snapshot taken before `up` (empty when the host is as it was).
 */
export async function downRealNode(
  opts: { log?: Log; paths?: ClusterPaths; quiet?: boolean } = {},
): Promise<string[]> {
  const log = opts.log ?? defaultLog;
  const paths = opts.paths ?? clusterPaths();
  const np = nodePaths(paths);
  const state = readNodeState(np);
  if (!state) return [];
  const stopped: string[] = [];
  // Pods first, so the kubelet and containerd stop no live containers: kill their tasks directly.
  if (running(paths, "containerd", CONTAINERD())) {
    if (await stopProcess(paths.pids, "kubelet", join(paths.bin, "kubelet"))) stopped.push("kubelet");
    const tasks = ctr(np, ["tasks", "ls", "-q"], true).split("\n").filter(Boolean);
    for (const t of tasks) ctr(np, ["tasks", "kill", "-s", "SIGKILL", t], true);
    await sleep(tasks.length ? 1000 : 0);
    for (const t of tasks) ctr(np, ["tasks", "delete", "-f", t], true);
    for (const c of ctr(np, ["containers", "ls", "-q"], true).split("\n").filter(Boolean))
      ctr(np, ["containers", "delete", c], true);
  }
  if (await stopProcess(paths.pids, "kube-proxy", join(paths.bin, "kube-proxy"))) stopped.push("kube-proxy");
  if (existsSync(join(paths.bin, "kube-proxy")))
    sh(join(paths.bin, "kube-proxy"), ["--cleanup"], { ok: true });
  if (await stopProcess(paths.pids, "kubelet", join(paths.bin, "kubelet"))) stopped.push("kubelet");
  if (await stopProcess(paths.pids, "containerd", CONTAINERD())) stopped.push("containerd");
  // Shims whose containerd is gone (they carry the socket path in their command line).
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.startsWith("/usr/bin/containerd-shim") && cmd.includes(np.socket))
        process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone
    }
  }
  // Network namespaces the CNI made for pods live under /run/netns (mounts): only ours, named cni-*.
  unmountUnder([np.kubeletRoot, np.containerdRoot, np.run]);
  for (const ns of existsSync("/run/netns") ? readdirSync("/run/netns") : []) {
    if (ns.startsWith("cni-") && !state.snapshot.mounts.includes(`/run/netns/${ns}`)) {
      sh("umount", ["-l", `/run/netns/${ns}`], { ok: true });
      rmSync(`/run/netns/${ns}`, { force: true });
    }
  }
  if (
    existsSync("/run/netns") &&
    !state.snapshot.runDirs.includes("netns") &&
    readdirSync("/run/netns").length === 0
  )
    rmdirSync("/run/netns");
  removeIptables(state.snapshot.iptables);
  removeCgroups(state.snapshot.cgroups);
  if (!state.snapshot.links.includes(BRIDGE)) sh("ip", ["link", "delete", BRIDGE], { ok: true });
  writeFileSync("/proc/sys/net/ipv4/ip_forward", `${state.snapshot.ipForward}\n`);
  rmSync(np.run, { recursive: true, force: true });
  // The shims' runc state root (/run/containerd/runc/k8s.io, /run/containerd/s): gone with our containers; removed
  // when it was not there before and holds nothing but empty folders.
  if (!state.snapshot.runDirs.includes("containerd")) removeIfOnlyEmptyDirs("/run/containerd");
  rmSync(np.cniData, { recursive: true, force: true });
  if (existsSync(paths.kubeconfig) && existsSync(join(paths.bin, "kubectl")))
    await kubectl(paths, [
      "delete",
      "node",
      REAL_NODE,
      "--ignore-not-found",
      "--wait=false",
      "--request-timeout=10s",
    ]).catch(() => undefined);
  const diff = hostDiff(state.snapshot, hostSnapshot());
  rmSync(np.host, { force: true });
  if (!opts.quiet || stopped.length)
    log(
      `${REAL_NODE} stopped (${stopped.join(", ") || "nothing was running"}); host ${diff.length ? `differs: ${diff.join("; ")}` : "as before"}`,
    );
  return diff;
}
