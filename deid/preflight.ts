/**
 * Checks made before any file is processed, so a bad destination gives one clear error (exit 1) instead of every
 * file "quarantined": the output folder (and quarantine folder, report file's folder) must be a writable folder
 * on a real file system — not a file, not read-only, not inside /proc, /sys or /dev (kernel interfaces where a
 * write can hang or change the machine).
 */
import { randomBytes } from "node:crypto";
import { mkdir, realpath, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";

export class PreflightError extends Error {}

const KERNEL_TREES = ["/proc", "/sys", "/dev"];

/** The nearest existing ancestor of `p`, with symbolic links resolved. */
async function existingAncestor(p: string): Promise<string> {
  let cur = resolve(p);
  for (;;) {
    try {
      return await realpath(cur);
    } catch {
      const up = dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

/** Throws PreflightError unless `dir` is (or can be created as) a writable folder outside the kernel trees. */
export async function checkWritableFolder(dir: string, what: string): Promise<void> {
  const anchor = await existingAncestor(dir);
  if (KERNEL_TREES.some((k) => anchor === k || anchor.startsWith(`${k}${sep}`))) {
    throw new PreflightError(
      `${what} is inside ${anchor.split(sep).slice(0, 2).join(sep)}: not a place for files`,
    );
  }
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new PreflightError(`${what} exists and is not a folder`);
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.medmlops-probe-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    await writeFile(probe, "", { flag: "wx" });
    await rm(probe, { force: true });
  } catch (err) {
    const code = err instanceof Error && "code" in err ? ` (${String(err.code)})` : "";
    throw new PreflightError(`${what} is not writable${code}`);
  }
}
