/**
 * Runs the project's OCI image with runc, no daemon: `umoci unpack` once into a temporary bundle, then one runc
 * container per call sharing that root filesystem read-only (the image never writes to it). Each container
 * gets its own bundle directory (config.json only), its own runc state directory, and is deleted afterwards, so
 * nothing is left in /run/runc or the cgroup hierarchy.
 *
 * The container shares the host's network namespace (so a server in it is reachable on 127.0.0.1 from the test)
 * and otherwise runs as a Kubernetes pod with the operator's securityContext would: uid/gid 10001, read-only
 * root filesystem, no capabilities, no new privileges, a tmpfs on /tmp.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

export const IMAGE_UID = 10001;

export function imageDir(): string {
  return process.env.MEDMLOPS_IMAGE_DIR ?? join(root, ".medmlops", "image");
}

/** What a missing prerequisite should say: which script installs it. */
export const SETUP_HINT =
  "install the container tools with `bash .ci/setup.d/60-containers.sh` (Debian: runc umoci mmdebstrap) and build the image with `npm run image`";

interface OciSpec {
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: Record<string, string[]>;
    noNewPrivileges?: boolean;
  };
  root: { path: string; readonly: boolean };
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: { namespaces: { type: string }[]; cgroupsPath?: string };
  [k: string]: unknown;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  spec: OciSpec;
  remove(): Promise<void>;
}

/** Unpacks the image (tag `dev` of the OCI layout `npm run image` writes) into a temporary bundle. */
export async function unpackImage(tag = "dev"): Promise<Bundle> {
  const layout = join(imageDir(), "oci");
  if (!existsSync(join(layout, "index.json"))) throw new Error(`no image at ${layout}: ${SETUP_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), "medmlops-image-"));
  const bundle = join(dir, "bundle");
  await run("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle], { maxBuffer: 64 << 20 });
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as OciSpec;
  return {
    dir,
    rootfs: join(bundle, "rootfs"),
    spec,
    remove: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Mount {
  source: string;
  destination: string;
  readonly?: boolean;
}

export interface RunOptions {
  /** Replaces the image's entrypoint + cmd. */
  args?: string[];
  /** Arguments after the image's entrypoint (`medmlops`). */
  cmd?: string[];
  env?: Record<string, string>;
  mounts?: Mount[];
  user?: { uid: number; gid: number };
}

export interface Container {
  id: string;
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with runc's exit code (the container process's). */
  exited: Promise<number>;
  signal(sig: "TERM" | "KILL" | "INT"): Promise<void>;
  /** Kills if still running and deletes the container and its state. */
  remove(): Promise<void>;
}

/** Starts one container from the bundle's root filesystem; see the file comment for its security settings. */
export function runContainer(bundle: Bundle, opts: RunOptions): Container {
  const id = `medmlops-test-${randomBytes(4).toString("hex")}`;
  const cdir = join(bundle.dir, id);
  const state = join(cdir, "state");
  mkdirSync(state, { recursive: true });
  const base = bundle.spec;
  const args = opts.args ?? ["medmlops", ...(opts.cmd ?? [])];
  const env = [...base.process.env, ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  const spec: OciSpec = {
    ...base,
    process: {
      ...base.process,
      terminal: false,
      args,
      env,
      user: opts.user ?? { uid: IMAGE_UID, gid: IMAGE_UID },
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    },
    root: { path: bundle.rootfs, readonly: true },
    mounts: [
      ...base.mounts,
      {
        destination: "/tmp",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", "mode=1777", "size=64m"],
      },
      ...(opts.mounts ?? []).map((m) => ({
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", m.readonly === false ? "rw" : "ro"],
      })),
    ],
    linux: {
      ...base.linux,
      // The host's network namespace: servers in the container answer on the host's loopback.
      namespaces: base.linux.namespaces.filter((n) => n.type !== "network"),
      cgroupsPath: `/${id}`, // runc delete removes it again
    },
  };
  writeFileSync(join(cdir, "config.json"), JSON.stringify(spec));
  const child = spawn("runc", ["--root", state, "run", "--bundle", cdir, id], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  const runc = (...a: string[]) => run("runc", ["--root", state, ...a]).then(() => undefined);
  return {
    id,
    child,
    output: () => ({ stdout, stderr }),
    exited,
    signal: (sig) => runc("kill", id, sig),
    async remove() {
      if (child.exitCode === null) await runc("kill", id, "KILL").catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      await runc("delete", "--force", id).catch(() => undefined);
      rmSync(cdir, { recursive: true, force: true });
    },
  };
}

/** Runs a container to completion and returns its exit code and output. */
export async function runToEnd(
  bundle: Bundle,
  opts: RunOptions,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = runContainer(bundle, opts);
  const timer = setTimeout(() => void c.signal("KILL").catch(() => undefined), timeoutMs);
  try {
    const code = await c.exited;
    return { code, ...c.output() };
  } finally {
    clearTimeout(timer);
    await c.remove();
  }
}
