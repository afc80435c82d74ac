/**
 * Polls a set of small files (certificates, keys, a token) and reports when their contents change. Kubernetes
 * updates a mounted Secret by swapping a symlink (`..data`), which file-watch events miss or report on the
 * wrong path; reading the few kilobytes every couple of seconds and comparing a hash sees every rotation.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** How often mounted certificates and tokens are re-read (the kubelet itself syncs Secrets every ~60 s). */
export const RELOAD_INTERVAL_MS = 2000;

export type FileContents = Map<string, Buffer>;

/** Reads every path (throws on the first unreadable one, naming it). */
export function readAll(paths: readonly string[]): FileContents {
  const out: FileContents = new Map();
  for (const p of paths) {
    try {
      out.set(p, readFileSync(p));
    } catch (e) {
      throw new Error(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return out;
}

function digest(contents: FileContents): string {
  const h = createHash("sha256");
  for (const [p, b] of contents) h.update(p).update("\0").update(b).update("\0");
  return h.digest("hex");
}

export interface FileWatchOptions {
  intervalMs?: number;
  /** Called with the new contents; throwing keeps the previous state (e.g. a key that does not match its cert). */
  onChange(contents: FileContents): void;
  /** A read or apply failure; the previous files stay in use. */
  onError(message: string): void;
}

/** Polls `paths`; the first read is the caller's (pass its contents as `initial`). */
export class FileWatch {
  #last: string;
  #timer: NodeJS.Timeout | undefined;
  #failing = "";

  constructor(
    private readonly paths: readonly string[],
    initial: FileContents,
    private readonly opts: FileWatchOptions,
  ) {
    this.#last = digest(initial);
  }

  start(): this {
    if (this.paths.length === 0 || this.#timer) return this;
    this.#timer = setInterval(() => this.check(), this.opts.intervalMs ?? RELOAD_INTERVAL_MS);
    this.#timer.unref();
    return this;
  }

  /** One poll (exported for tests and for a caller that wants to check now). */
  check(): void {
    let contents: FileContents;
    try {
      contents = readAll(this.paths);
    } catch (e) {
      this.#report((e as Error).message);
      return;
    }
    const d = digest(contents);
    if (d === this.#last) return;
    try {
      this.opts.onChange(contents);
      this.#last = d;
      this.#failing = "";
    } catch (e) {
      this.#report(`new files not applied: ${(e as Error).message}`);
    }
  }

  /** Reports a failure once, not every poll, until it changes or clears. */
  #report(message: string): void {
    if (message === this.#failing) return;
    this.#failing = message;
    this.opts.onError(message);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
