/**
 * The suspend switch (EU AI Act Art. 14 stop button). The operator writes `{"suspended": bool, "reason"?}`
 * into a ConfigMap mounted as a file; the sidecar polls it. A file that is missing or malformed keeps the
 * last good state and is reported once, so a half-written update never un-suspends a model. Fail closed: a file
 * that cannot be read or parsed at start-up (e.g. `"suspended": "true"`, a string) leaves the model suspended
 * until a valid file says otherwise.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";

export const ControlFile = z
  .object({
    suspended: z.boolean(),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type ControlState = z.infer<typeof ControlFile>;

export function parseControl(
  text: string,
): { ok: true; state: ControlState } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: "not valid JSON" };
  }
  const r = ControlFile.safeParse(raw);
  if (!r.success)
    return {
      ok: false,
      problem: r.error.issues.map((i) => `${i.path.join(".") || "file"}: ${i.message}`).join("; "),
    };
  return { ok: true, state: r.data };
}

export class ControlWatcher {
  state: ControlState = { suspended: false };
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = "";
  private good = false;

  constructor(
    private readonly path: string,
    private readonly onChange: (s: ControlState) => void,
    private readonly warn: (msg: string) => void,
    private readonly intervalMs = 2000,
  ) {}

  async poll(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      this.report(
        `control file unreadable (${(e as NodeJS.ErrnoException).code ?? "error"}); keeping suspended=${this.state.suspended}`,
      );
      return;
    }
    const r = parseControl(text);
    if (!r.ok) {
      this.report(`control file invalid (${r.problem}); keeping suspended=${this.state.suspended}`);
      return;
    }
    this.lastProblem = "";
    this.good = true;
    if (r.state.suspended !== this.state.suspended || r.state.reason !== this.state.reason) {
      this.state = r.state;
      this.onChange(r.state);
    }
  }

  private report(problem: string): void {
    if (problem !== this.lastProblem) this.warn(problem);
    this.lastProblem = problem;
  }

  async start(): Promise<void> {
    await this.poll();
    if (!this.good) {
      this.state = {
        suspended: true,
        reason: "control file unreadable or invalid at start-up (fail closed)",
      };
      this.onChange(this.state);
    }
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
