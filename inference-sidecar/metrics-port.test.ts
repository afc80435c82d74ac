// The metrics port on a real sidecar process (bin/medmlops.js sidecar): /metrics is served there and only there,
// and nothing else is — so a NetworkPolicy can let Prometheus reach one port without reaching inference.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModel } from "./testing/models.ts";
import { freePort, type SidecarProcess, startSidecarProcess } from "./testing/process.ts";

const BIN = new URL("../bin/medmlops.js", import.meta.url).pathname;

const infer = (url: string) =>
  fetch(`${url}/v2/models/cnn/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      inputs: [{ name: "image", datatype: "FP32", shape: [1, 1, 16, 16], data: new Array(256).fill(0.1) }],
    }),
  });

const requests200 = (text: string) =>
  Number(/medmlops_sidecar_requests_total\{[^}]*status="200"\} (\d+)/.exec(text)?.[1] ?? 0);

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "sidecar", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
}

describe("sidecar metrics port (real process)", () => {
  let dir: string;
  let model: string;
  let sc: SidecarProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sidecar-metrics-port-"));
    model = writeModel(dir, "cnn");
    sc = await startSidecarProcess(["--model", model, "--name", "cnn", "--warmup-runs", "0"]);
  }, 60_000);
  afterAll(async () => {
    await sc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /metrics on the metrics port, counting what the inference port answered", async () => {
    const before = await fetch(`${sc.metricsUrl}/metrics`);
    expect(before.status).toBe(200);
    expect(before.headers.get("content-type")).toMatch(/^text\/plain/);
    const n = requests200(await before.text());
    expect((await infer(sc.url)).status).toBe(200);
    const after = await (await fetch(`${sc.metricsUrl}/metrics`)).text();
    expect(requests200(after)).toBe(n + 1);
    expect(after).toContain('medmlops_sidecar_model_state{model="cnn",version="1",state="ready"} 1');
  });

  it("the inference port serves no /metrics", async () => {
    const r = await fetch(`${sc.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ code: "NOT_FOUND", error: expect.any(String) });
  });

  it("the metrics port serves no inference, metadata or probes", async () => {
    for (const [method, path] of [
      ["POST", "/v2/models/cnn/infer"],
      ["GET", "/v2/models/cnn"],
      ["GET", "/v2/health/ready"],
      ["GET", "/v2"],
      ["POST", "/metrics"],
    ] as const) {
      const r =
        method === "POST" && path.endsWith("/infer")
          ? await infer(sc.metricsUrl)
          : await fetch(`${sc.metricsUrl}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(((await r.json()) as { code: string }).code).toBe("NOT_FOUND");
    }
    // Still serving on both ports after all that.
    expect((await infer(sc.url)).status).toBe(200);
  });

  it("refuses --metrics-port equal to --port (exit 2) and a taken metrics port (exit 1, never serving)", async () => {
    const port = await freePort();
    const same = await run([
      "--model",
      model,
      "--name",
      "cnn",
      "--port",
      String(port),
      "--metrics-port",
      String(port),
    ]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("--metrics-port must differ from --port");

    const taken: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const takenPort = (taken.address() as { port: number }).port;
      const r = await run([
        ...["--model", model, "--name", "cnn", "--host", "127.0.0.1", "--warmup-runs", "0"],
        ...["--port", String(await freePort()), "--metrics-port", String(takenPort)],
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot listen: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  }, 30_000);
});
