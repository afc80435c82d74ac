import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// Component processes run detached (they outlive `npm run cluster:up` and vitest) with one log file each and a
// pid file, so `cluster:down` can stop exactly the processes it started, by pid, and nothing else.

export interface Started {
  name: string;
  pid: number;
  log: string;
}

export function startProcess(opts: {
  name: string;
  command: string;
  args: string[];
  logs: string;
  pids: string;
  cwd?: string;
}): Started {
  mkdirSync(opts.logs, { recursive: true });
  mkdirSync(opts.pids, { recursive: true });
  const log = join(opts.logs, `${opts.name}.log`);
  const fd = openSync(log, "a");
  try {
    writeFileSync(fd, `\n==== ${new Date().toISOString()} ${opts.command} ${opts.args.join(" ")}\n`);
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, KUBECONFIG: "" },
    });
    if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
    child.unref();
    writeFileSync(join(opts.pids, `${opts.name}.pid`), `${child.pid}\n`);
    return { name: opts.name, pid: child.pid, log };
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` is alive and runs `command` (guards against a recycled pid). */
export function isOurProcess(pid: number, command: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // A zombie (state Z) is dead for our purposes.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return cmdline.split("\0")[0] === command && state !== "Z";
  } catch {
    return false;
  }
}

export function readPid(pids: string, name: string): number | undefined {
  const file = join(pids, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Names that have a pid file. */
export function recordedNames(pids: string): string[] {
  if (!existsSync(pids)) return [];
  return readdirSync(pids)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => f.slice(0, -4));
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; removes the pid file. Returns whether a process was stopped. */
export async function stopProcess(
  pids: string,
  name: string,
  command: string,
  graceMs = 10_000,
): Promise<boolean> {
  const pid = readPid(pids, name);
  const pidFile = join(pids, `${name}.pid`);
  if (pid === undefined || !isOurProcess(pid, command)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isOurProcess(pid, command)) await sleep(100);
  if (isOurProcess(pid, command)) process.kill(pid, "SIGKILL");
  while (isOurProcess(pid, command)) await sleep(50);
  rmSync(pidFile, { force: true });
  return true;
}
