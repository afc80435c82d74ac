import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "./model.ts";
import { writeModel } from "./testing/models.ts";
import { readFileSync } from "node:fs";

const BIN = new URL("../bin/medmlops.js", import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Listen flags for a free loopback port. */
async function onLoopback(): Promise<string[]> {
  return ["--port", String(await freePort()), "--metrics-port", "0", "--host", "127.0.0.1"];
}

function run(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [BIN, "sidecar", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MEDMLOPS_CASE_ID_KEY: "a-test-key-of-16+chars" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

async function waitFor(url: string, ok: (r: Response) => boolean, ms = 20_000): Promise<Response> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (ok(r)) return r;
    } catch {}
    if (Date.now() > end) throw new Error(`timeout waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("medmlops sidecar (real process)", () => {
  let dir: string;
  let model: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sidecar-cli-"));
    model = writeModel(dir, "cnn");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a model whose digest does not match: clear message, exit 1, never ready", async () => {
    const { done } = run([
      "--model",
      model,
      "--name",
      "cnn",
      "--sha256",
      "0".repeat(64),
      ...(await onLoopback()),
    ]);
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("model digest mismatch");
    expect(r.stderr).toContain(sha256Hex(readFileSync(model)));
  });

  it("never becomes ready with a model that loads but fails its warm-up run: exit 1, the reason named", async () => {
    const { done } = run(["--model", writeModel(dir, "fails"), "--name", "fails", ...(await onLoopback())]);
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warm-up run 1 of 2 failed: .*Reshape/);
    expect(r.stdout).toContain('"kind":"warm-up-failed"');
  });

  it("exits 2 with usage on bad flags", async () => {
    const r = await run(["--name", "cnn"]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--model is required");
    const r2 = await run(["--model", model, "--name", "cnn", "--sha256", "xyz"]).done;
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("64 hex digits");
  });

  it("serves with a verified digest, suspends from the control file, drains on SIGTERM and exits 0", async () => {
    const port = await freePort();
    const control = join(dir, "control.json");
    writeFileSync(control, JSON.stringify({ suspended: false }));
    const { child, done } = run([
      "--model",
      model,
      "--name",
      "cnn",
      "--version",
      "v2",
      "--sha256",
      sha256Hex(readFileSync(model)),
      "--port",
      String(port),
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
      "--control-file",
      control,
      "--max-batch-size",
      "4",
    ]);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/v2/health/ready`, (r) => r.status === 200);
      const body = JSON.stringify({
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.1) }],
      });
      const post = () =>
        fetch(`${base}/v2/models/cnn/versions/v2/infer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
      expect((await post()).status).toBe(200);
      writeFileSync(control, JSON.stringify({ suspended: true, reason: "drift" }));
      await waitFor(`${base}/v2/models/cnn/ready`, (r) => r.status === 400, 6000);
      const suspended = await post();
      expect(suspended.status).toBe(503);
      expect(await suspended.json()).toEqual({
        error: "AI unavailable — refer to clinician",
        code: "SUSPENDED",
      });
      child.kill("SIGTERM");
      const r = await done;
      expect(r.code).toBe(0);
      // Logs are JSON lines without request content.
      expect(r.stdout).toContain('"msg":"model ready"');
      expect(r.stdout).not.toContain("0.1,0.1");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("signature files", () => {
  it("reads JSON or YAML and names schema problems", async () => {
    const { readSignatureFile } = await import("./cli.ts");
    const dir = mkdtempSync(join(tmpdir(), "sidecar-sig-"));
    try {
      const yamlPath = join(dir, "sig.yaml");
      writeFileSync(
        yamlPath,
        "inputs:\n  - name: image\n    datatype: FP32\n    shape: [-1, 1, 16, 16]\noutputs:\n  - name: logits\n    datatype: FP32\n    shape: [-1, 3]\n    labels: [a, b, c]\n",
      );
      expect(readSignatureFile(yamlPath).outputs[0]?.labels).toEqual(["a", "b", "c"]);
      const bad = join(dir, "bad.json");
      writeFileSync(
        bad,
        JSON.stringify({ inputs: [{ name: "x", datatype: "FLOAT", shape: [1] }], outputs: [] }),
      );
      expect(() => readSignatureFile(bad)).toThrow(/inputs\.0\.datatype/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
