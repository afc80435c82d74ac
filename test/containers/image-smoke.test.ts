/**
 * Smoke test of the real image (`npm run image`), run by runc as a pod would run it: uid 10001, read-only root
 * filesystem, no capabilities. The CLI answers, the sidecar serves a model and answers an OIP v2 request from
 * the host with the numbers onnxruntime computes in this process, and `deid` de-identifies files.
 */
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ctPhantom, FAKE_PATIENT, writeDicom } from "../../inference-sidecar/testing/dicom.ts";
import { randomFloats } from "../../inference-sidecar/testing/harness.ts";
import { writeModel } from "../../inference-sidecar/testing/models.ts";
import { finalStage } from "../../scripts/image/dockerfile.ts";
import { type Bundle, IMAGE_UID, imageDir, runContainer, runToEnd, unpackImage } from "./runc.ts";

const root = new URL("../..", import.meta.url).pathname;

let bundle: Bundle;
let work: string;

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

beforeAll(async () => {
  bundle = await unpackImage();
  work = mkdtempSync(join(tmpdir(), "medmlops-smoke-"));
});

afterAll(async () => {
  await bundle?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the image against the Dockerfile", () => {
  it("has the Dockerfile's final stage: /app paths, USER, ENTRYPOINT and CMD", () => {
    const want = finalStage(readFileSync(join(root, "Dockerfile"), "utf8"));
    const oci = join(imageDir(), "oci");
    const blob = (d: string) => join(oci, "blobs", ...d.split(":"));
    const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8")) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const m = index.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === "dev");
    expect(m).toBeDefined();
    const manifest = JSON.parse(readFileSync(blob(m?.digest ?? ""), "utf8")) as {
      config: { digest: string };
    };
    const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8")) as {
      config: { User: string; Entrypoint: string[]; Cmd: string[] };
    };
    expect(config.config.User).toBe(want.user);
    expect(config.config.Entrypoint).toEqual(want.entrypoint);
    expect(config.config.Cmd).toEqual(want.cmd);
    // contents.txt lists the /app layer: its top-level entries are exactly what the final stage copies.
    const top = new Set(
      readFileSync(join(imageDir(), "contents.txt"), "utf8")
        .split("\n")
        .map((l) => l.split(" ")[2] ?? "")
        .filter((p) => p.startsWith("app/") && p !== "app/")
        .map((p) => p.split("/")[1]),
    );
    expect([...top].sort()).toEqual([...want.appPaths].sort());
  });
});

describe("the image under runc", () => {
  it("answers `medmlops --help` through its entrypoint", async () => {
    const r = await runToEnd(bundle, { cmd: ["--help"] });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: medmlops <command>/);
    expect(r.stdout).toContain("sidecar");
  });

  it("runs as uid 10001 with no capabilities on a read-only root filesystem", async () => {
    const script = [
      "id -u; id -g",
      "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status",
      "touch /app/x 2>&1 || true",
      "touch /usr/local/bin/x 2>&1 || true",
      "touch /tmp/ok && echo tmp-writable",
    ].join("; ");
    const r = await runToEnd(bundle, { args: ["/bin/sh", "-c", script] });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(String(IMAGE_UID));
    expect(lines[1]).toBe(String(IMAGE_UID));
    expect(r.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(r.stdout).toMatch(/CapBnd:\s+0000000000000000/);
    expect(r.stdout).toMatch(/touch: cannot touch '\/app\/x': Read-only file system/);
    expect(r.stdout).toMatch(/touch: cannot touch '\/usr\/local\/bin\/x': Read-only file system/);
    expect(r.stdout).toContain("tmp-writable");
  });

  it("holds no dev dependencies, tests or TypeScript sources, and runs Node 20", async () => {
    const r = await runToEnd(bundle, {
      args: [
        "/bin/sh",
        "-c",
        "node --version; ls /app; ls /app/node_modules; find /app/dist /app/bin -name '*.test.*' -o -name '*.ts' -o -path '*/testing/*' | head -5; command -v npm npx gcc cc tsc || true",
      ],
    });
    expect(r.code).toBe(0);
    const [version, ...rest] = r.stdout.split("\n");
    expect(version).toMatch(/^v20\./);
    const listing = rest.join("\n");
    expect(listing).toMatch(/\bdist\b/);
    expect(listing).toContain("onnxruntime-node");
    for (const dev of ["vitest", "typescript", "tsx", "@biomejs", "onnx-proto", "wabt"]) {
      expect(listing.split(/\s+/)).not.toContain(dev);
    }
    // The project's code holds no test files, test helpers or TypeScript sources; no npm, no compilers.
    expect(listing).not.toMatch(/^\/app\/(dist|bin)\//m);
    expect(listing).not.toMatch(/\/(npm|npx|gcc|cc|tsc)$/m);
  });

  it("serves a model with `medmlops sidecar`: an OIP v2 request from the host equals onnxruntime in process", async () => {
    const models = join(work, "models");
    const modelPath = writeModel(models, "cnn");
    const port = await freePort();
    const c = runContainer(bundle, {
      cmd: [
        "sidecar",
        "--model",
        "/models/cnn.onnx",
        "--name",
        "cnn",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        // Host networking here: any free port, so a busy 9090 on the machine cannot stop the test.
        "--metrics-port",
        "0",
      ],
      mounts: [{ source: models, destination: "/models" }],
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      let ready = false;
      while (!ready && Date.now() < deadline && c.child.exitCode === null) {
        ready = await fetch(`${base}/v2/health/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready, c.output().stderr + c.output().stdout).toBe(true);

      const data = randomFloats(2 * 16 * 16, 7);
      const res = await fetch(`${base}/v2/models/cnn/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          inputs: [{ name: "image", datatype: "FP32", shape: [2, 1, 16, 16], data: [...data] }],
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        model_name: string;
        outputs: { name: string; shape: number[]; data: number[] }[];
      };
      expect(body.model_name).toBe("cnn");
      const out = body.outputs.find((o) => o.name === "logits");
      expect(out?.shape).toEqual([2, 3]);

      const ref = await ort.InferenceSession.create(modelPath);
      const expected = (await ref.run({ image: new ort.Tensor("float32", data, [2, 1, 16, 16]) })).logits
        ?.data as Float32Array;
      await ref.release();
      expect(out?.data.length).toBe(6);
      for (const [i, v] of (out?.data ?? []).entries()) expect(v).toBeCloseTo(expected[i] ?? Number.NaN, 5);

      // SIGTERM: the sidecar drains and exits 0 (Node as PID 1 only stops because the sidecar handles it).
      await c.signal("TERM");
      expect(await c.exited).toBe(0);
    } finally {
      await c.remove();
    }
  });

  it("de-identifies DICOM files with `medmlops deid` as uid 10001", async () => {
    const input = join(work, "dicom-in");
    const output = join(work, "dicom-out");
    const keyDir = join(work, "key");
    mkdirSync(input, { recursive: true });
    mkdirSync(output, { recursive: true });
    mkdirSync(keyDir, { recursive: true });
    for (let i = 0; i < 3; i++) {
      writeFileSync(
        join(input, `ct-${i}.dcm`),
        writeDicom({ rows: 16, columns: 16, pixels: ctPhantom(16, 16, i + 1) }),
      );
    }
    writeFileSync(join(keyDir, "key"), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    chownSync(output, IMAGE_UID, IMAGE_UID);

    const mounts = [
      { source: input, destination: "/in" },
      { source: output, destination: "/out", readonly: false },
      { source: keyDir, destination: "/key" },
    ];
    const r = await runToEnd(bundle, {
      cmd: ["deid", "/in", "/out", "--key-file", "/key/key", "--jobs", "1"],
      mounts,
    });
    expect(r.code, r.stderr).toBe(0);
    const written = readdirSync(output, { recursive: true }).filter((f) => String(f).endsWith(".dcm"));
    expect(written.length).toBe(3);
    for (const f of written) {
      const bytes = readFileSync(join(output, String(f))).toString("latin1");
      expect(bytes).not.toContain(FAKE_PATIENT.PatientID);
      expect(bytes).not.toContain("Doe^Jane");
    }
    // The container's own verifier agrees.
    const v = await runToEnd(bundle, { cmd: ["deid", "verify", "/in", "/out"], mounts });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});
