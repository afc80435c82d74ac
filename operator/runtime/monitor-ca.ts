/**
 * The operator's `--monitor-ca` file as the CA bundle it hands on to the pods it builds (each model's ConfigMap,
 * each RetrainJob's CA ConfigMap), re-read when the file changes — the same 2 s content check as every other
 * mounted certificate (common/tls/files.ts: a Secret or ConfigMap update swaps a symlink that file events miss,
 * so a few kilobytes are read and hashed). A rotated CA reaches the models without an operator restart: the
 * owner of the watch re-queues the controllers that write it (operator/cli.ts). A file that becomes unreadable
 * keeps the last good bundle (reported once); the PEM itself is never logged.
 */
import { type FileContents, FileWatch, readAll } from "../../common/tls/files.ts";

export interface MonitorCaFileOptions {
  /** Called after the bundle changed (with nothing of its content). */
  onChange?: () => void;
  /** A read failure; the previous bundle stays in use. */
  onError?: (message: string) => void;
  intervalMs?: number;
}

export class MonitorCaFile {
  #pem: string;
  readonly #watch: FileWatch;

  /** Reads the file now (throws naming it when unreadable) and starts polling it. */
  constructor(
    readonly file: string,
    opts: MonitorCaFileOptions = {},
  ) {
    const initial = readAll([file]);
    this.#pem = pemOf(initial, file);
    this.#watch = new FileWatch([file], initial, {
      ...(opts.intervalMs ? { intervalMs: opts.intervalMs } : {}),
      onChange: (c) => {
        // Throwing keeps the previous bundle (FileWatch reports it through onError).
        this.#pem = pemOf(c, file);
        opts.onChange?.();
      },
      onError: opts.onError ?? (() => {}),
    }).start();
  }

  /** The bundle as last read. */
  current(): string {
    return this.#pem;
  }

  /** Re-reads now (tests; the watch does it every RELOAD_INTERVAL_MS). */
  checkNow(): void {
    this.#watch.check();
  }

  stop(): void {
    this.#watch.stop();
  }
}

function pemOf(c: FileContents, file: string): string {
  const pem = c.get(file)!.toString("utf8");
  // A half-written or emptied file is not a CA: keep the last good one rather than hand models nothing.
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${file} holds no PEM certificate`);
  return pem;
}
