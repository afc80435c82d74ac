/**
 * Plays the kubelet for one pod of a control plane whose nodes (kwok) run no containers: runs the pod's init
 * containers in order, then its containers, as local processes with the pod's own command, args and env, and
 * writes to `pods/status` what a kubelet writes when they end — each container `terminated` with its exit code and
 * its termination message, and the pod's phase. The real job controller then reads that pod status exactly as it
 * would on a real node (Job Complete / Failed), and the operator reads the termination message as it would.
 *
 * The pod's filesystem view: each container gets a private directory `rootfs/` in which every volume mount is a
 * symlink (`rootfs/<mountPath>` → the volume's local directory, subPath included). Absolute paths in args and env
 * values are rebased onto that rootfs, so `--out /data` writes where the next container's `/data` reads — a
 * poor man's mount namespace without touching the host's own paths. Volumes: `emptyDir` → a directory per pod,
 * `persistentVolumeClaim` → `<pvRoot>/<claimName>/` (the test's stand-in for the bound volume), `secret` → the real
 * Secret's items read through the API (a missing Secret fails the pod, as the kubelet would not start it), `configMap`
 * → the same for a ConfigMap.
 * `terminationMessagePath` is a file in rootfs, named to the process by MEDMLOPS_TERMINATION_LOG (a process in a
 * real pod writes the path itself). Not emulated: readOnly mounts, resources, security contexts, images — `images`
 * maps an image to the local program that stands for it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { KubeObject } from "../../operator/runtime/index.ts";
import type { RestClient } from "../../operator/runtime/rest.ts";

interface Mount {
  name: string;
  mountPath: string;
  subPath?: string;
}
export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: Mount[];
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}
interface Volume {
  name: string;
  emptyDir?: object;
  persistentVolumeClaim?: { claimName: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}
export type PodObject = KubeObject & {
  spec?: {
    nodeName?: string;
    initContainers?: ContainerSpec[];
    containers: ContainerSpec[];
    volumes?: Volume[];
  };
};

/** What the local program of an image is given: the container's command + args and env (paths in args and env rebased). */
export interface ImageRun {
  argv: string[];
  env: Record<string, string>;
  /** The local path of an absolute path inside the container. */
  path(p: string): string;
  terminationLog: string;
}
/** An image → the local argv (and extra env) that stands for it. */
export type ImageMap = Record<string, (run: ImageRun) => { argv: string[]; env?: Record<string, string> }>;

export interface KubeletOptions {
  rest: RestClient;
  /** Work directory of this kubelet: one sub-directory per pod. */
  root: string;
  /** `<pvRoot>/<claimName>/` holds a PersistentVolumeClaim's files. */
  pvRoot: string;
  images: ImageMap;
  timeoutMs?: number;
}

export interface ContainerOutcome {
  name: string;
  exitCode: number;
  message: string;
  stderr: string;
}
export interface PodOutcome {
  phase: "Succeeded" | "Failed";
  initContainers: ContainerOutcome[];
  containers: ContainerOutcome[];
}

const MAX_MESSAGE = 4096; // the kubelet's limit on a termination message

function run(
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd as string, args, {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: timeoutMs,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    child.on("error", (e) => resolve({ code: 127, stderr: e.message }));
    child.on("close", (code) => resolve({ code: code ?? 137, stderr }));
  });
}

async function volumeDirs(pod: PodObject, podDir: string, o: KubeletOptions): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  const ns = pod.metadata?.namespace as string;
  for (const v of pod.spec?.volumes ?? []) {
    let dir: string;
    if (v.persistentVolumeClaim) dir = join(o.pvRoot, v.persistentVolumeClaim.claimName);
    else dir = join(podDir, "volumes", v.name);
    mkdirSync(dir, { recursive: true });
    if (v.secret) {
      const s = await o.rest.request<{ data?: Record<string, string> }>(
        "GET",
        `/api/v1/namespaces/${ns}/secrets/${v.secret.secretName}`,
      );
      const items = v.secret.items ?? Object.keys(s.data ?? {}).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        const value = s.data?.[it.key];
        if (value === undefined) throw new Error(`secret ${v.secret.secretName} has no key ${it.key}`);
        writeFileSync(join(dir, it.path), Buffer.from(value, "base64"), { mode: 0o440 });
      }
    }
    if (v.configMap) {
      const cm = await o.rest.request<{ data?: Record<string, string> }>(
        "GET",
        `/api/v1/namespaces/${ns}/configmaps/${v.configMap.name}`,
      );
      const items = v.configMap.items ?? Object.keys(cm.data ?? {}).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        const value = cm.data?.[it.key];
        if (value === undefined) throw new Error(`configmap ${v.configMap.name} has no key ${it.key}`);
        writeFileSync(join(dir, it.path), value, { mode: 0o444 });
      }
    }
    dirs.set(v.name, dir);
  }
  return dirs;
}

async function runContainer(
  c: ContainerSpec,
  podDir: string,
  volumes: Map<string, string>,
  o: KubeletOptions,
): Promise<ContainerOutcome> {
  const rootfs = join(podDir, "containers", c.name, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  for (const m of c.volumeMounts ?? []) {
    const vol = volumes.get(m.name);
    if (!vol) throw new Error(`container ${c.name} mounts unknown volume ${m.name}`);
    const target = m.subPath ? join(vol, m.subPath) : vol;
    mkdirSync(target, { recursive: true });
    const at = join(rootfs, m.mountPath);
    mkdirSync(dirname(at), { recursive: true });
    if (!existsSync(at)) symlinkSync(target, at);
  }
  const path = (p: string) => (p.startsWith("/") ? join(rootfs, p) : p);
  const terminationLog = path(c.terminationMessagePath ?? "/dev/termination-log");
  mkdirSync(dirname(terminationLog), { recursive: true });
  writeFileSync(terminationLog, "");
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = path(e.value ?? "");
  env["MEDMLOPS_TERMINATION_LOG"] = terminationLog;
  // the command names a program of the image (left as is); args and env values are rebased
  const argv = [...(c.command ?? []), ...(c.args ?? []).map(path)];
  const image = o.images[c.image];
  if (!image) throw new Error(`no local program stands for image ${c.image}`);
  const local = image({ argv, env, path, terminationLog });
  const r = await run(local.argv, { ...env, ...local.env }, o.timeoutMs ?? 120_000);
  let message = readFileSync(terminationLog, "utf8");
  if (!message && r.code !== 0 && c.terminationMessagePolicy === "FallbackToLogsOnError") {
    message = r.stderr.split("\n").slice(-80).join("\n");
  }
  return { name: c.name, exitCode: r.code, message: message.slice(0, MAX_MESSAGE), stderr: r.stderr };
}

function terminated(image: string, out: ContainerOutcome, at: string) {
  return {
    name: out.name,
    image,
    imageID: "",
    ready: false,
    restartCount: 0,
    started: false,
    state: {
      terminated: {
        exitCode: out.exitCode,
        reason: out.exitCode === 0 ? "Completed" : "Error",
        ...(out.message ? { message: out.message } : {}),
        startedAt: at,
        finishedAt: new Date().toISOString(),
      },
    },
  };
}

/** Runs the pod's containers and reports them through pods/status; returns what ran. */
export async function runPod(pod: PodObject, o: KubeletOptions): Promise<PodOutcome> {
  const ns = pod.metadata?.namespace as string;
  const name = pod.metadata?.name as string;
  const podDir = join(o.root, ns, name);
  const startedAt = new Date().toISOString();
  const volumes = await volumeDirs(pod, podDir, o);
  const inits: ContainerOutcome[] = [];
  const mains: ContainerOutcome[] = [];
  let ok = true;
  for (const c of pod.spec?.initContainers ?? []) {
    const out = await runContainer(c, podDir, volumes, o);
    inits.push(out);
    if (out.exitCode !== 0) {
      ok = false;
      break;
    }
  }
  if (ok) {
    for (const c of pod.spec?.containers ?? []) mains.push(await runContainer(c, podDir, volumes, o));
  }
  const phase = ok && mains.every((m) => m.exitCode === 0) ? "Succeeded" : "Failed";
  const imageOf = (n: string, list: ContainerSpec[] = []) => list.find((c) => c.name === n)?.image ?? "";
  const status = {
    phase,
    startTime: startedAt,
    conditions: [
      { type: "Initialized", status: ok ? "True" : "False", lastTransitionTime: startedAt },
      {
        type: "Ready",
        status: "False",
        reason: "PodCompleted",
        lastTransitionTime: new Date().toISOString(),
      },
    ],
    initContainerStatuses: (pod.spec?.initContainers ?? []).map((c) => {
      const out = inits.find((i) => i.name === c.name);
      return out
        ? terminated(c.image, out, startedAt)
        : {
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "PodInitializing" } },
          };
    }),
    containerStatuses: (pod.spec?.containers ?? []).map((c) => {
      const out = mains.find((i) => i.name === c.name);
      return out
        ? terminated(imageOf(c.name, pod.spec?.containers), out, startedAt)
        : {
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "PodInitializing" } },
          };
    }),
  };
  await o.rest.request("PATCH", `/api/v1/namespaces/${ns}/pods/${name}/status`, {
    body: { status },
    contentType: "application/merge-patch+json",
  });
  return { phase, initContainers: inits, containers: mains };
}
