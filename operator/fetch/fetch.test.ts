import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./cli.ts";
import { FetchError, formatTerminationMessage, parseTerminationMessage } from "./errors.ts";
import { type FetchOptions, fetchModel, mountedPath } from "./fetch.ts";

const payload = randomBytes(3 * 1024 * 1024 + 17);
const digest = createHash("sha256").update(payload).digest("hex");
let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fetch-model-"));
  await mkdir(join(dir, "pvc", "models", "chest"), { recursive: true });
  await writeFile(join(dir, "pvc", "models", "chest", "v1.onnx"), payload);
  await mkdir(join(dir, "cm", "tiny"), { recursive: true });
  await writeFile(join(dir, "cm", "tiny", "model.onnx"), "tiny");
  server = createServer((req, res) => {
    if (req.url === "/model.onnx") {
      res.writeHead(200, { "content-length": payload.length });
      // Two writes so the client really streams.
      res.write(payload.subarray(0, 1000));
      setTimeout(() => res.end(payload.subarray(1000)), 20);
    } else if (req.url === "/chunked") {
      res.writeHead(200);
      res.end(payload);
    } else if (req.url === "/slow") {
      res.writeHead(200);
      res.write("x");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const opts = (over: Partial<FetchOptions>): FetchOptions => ({
  uri: "",
  sha256: digest,
  out: join(dir, "out", `${Math.random().toString(36).slice(2)}.onnx`),
  pvcRoot: join(dir, "pvc"),
  configMapRoot: join(dir, "cm"),
  maxBytes: 64 * 1024 * 1024,
  timeoutMs: 5000,
  allowHttp: true,
  ...over,
});

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FetchError);
    return (e as FetchError).code;
  }
  throw new Error("expected a FetchError");
}

describe("fetchModel", () => {
  it.each([
    ["pvc://", "pvc://models/chest/v1.onnx"],
    ["http:// with content-length", "/model.onnx"],
    ["http:// chunked", "/chunked"],
  ])("fetches %s and verifies the digest", async (_n, uri) => {
    const o = opts({ uri: uri.startsWith("/") ? base + uri : uri });
    const r = await fetchModel(o);
    expect(r).toEqual({ bytes: payload.length, sha256: digest });
    expect((await readFile(o.out)).equals(payload)).toBe(true);
  });

  it("fetches configmap://", async () => {
    const sha = createHash("sha256").update("tiny").digest("hex");
    const o = opts({ uri: "configmap://tiny/model.onnx", sha256: sha });
    await fetchModel(o);
    expect(await readFile(o.out, "utf8")).toBe("tiny");
  });

  it("refuses a digest mismatch and leaves no file behind", async () => {
    const o = opts({ uri: "pvc://models/chest/v1.onnx", sha256: "0".repeat(64) });
    expect(await failure(fetchModel(o))).toBe("DigestMismatch");
    expect(
      await readdir(join(dir, "out")).then((f) => f.filter((n) => n.includes(o.out.split("/").pop()!))),
    ).toEqual([]);
  });

  it.each([
    ["a missing file", { uri: "pvc://models/chest/nope.onnx" }, "SourceNotFound"],
    ["a path escaping the claim", { uri: "pvc://models/../../etc/passwd" }, "InvalidSource"],
    ["an unknown scheme", { uri: "s3://bucket/key" }, "InvalidSource"],
    ["http without allowHttp", { uri: "http://127.0.0.1:1/x", allowHttp: false }, "InvalidSource"],
    ["HTTP 404", { uri: "/missing" }, "FetchFailed"],
    ["a declared size over the limit", { uri: "/model.onnx", maxBytes: 1024 }, "SourceTooLarge"],
    ["a streamed size over the limit", { uri: "/chunked", maxBytes: 1024 }, "SourceTooLarge"],
    ["a file over the limit", { uri: "pvc://models/chest/v1.onnx", maxBytes: 1024 }, "SourceTooLarge"],
    ["a server that stalls", { uri: "/slow", timeoutMs: 300 }, "FetchTimeout"],
    ["a malformed digest", { uri: "/model.onnx", sha256: "ABC" }, "InvalidSource"],
  ])("refuses %s", async (_n, over, code) => {
    const o = opts({ ...over, uri: over.uri.startsWith("/") ? base + over.uri : over.uri });
    expect(await failure(fetchModel(o))).toBe(code);
  });
});

describe("mountedPath", () => {
  const roots = { pvcRoot: "/sources/pvc", configMapRoot: "/sources/configmap" };
  it.each([
    ["pvc://models/a/b.onnx", "/sources/pvc/models/a/b.onnx"],
    ["configmap://cm/model.onnx", "/sources/configmap/cm/model.onnx"],
  ])("%s → %s", (uri, path) => expect(mountedPath(uri, roots)).toBe(path));
});

describe("termination message", () => {
  it("round-trips our JSON", () => {
    expect(parseTerminationMessage(formatTerminationMessage("DigestMismatch", "sha256 differs"))).toEqual({
      reason: "DigestMismatch",
      message: "sha256 differs",
    });
  });
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["panic: boom", { reason: "FetchFailed", message: "panic: boom" }],
    [
      '{"reason":"not a code!","message":"x"}',
      { reason: "FetchFailed", message: '{"reason":"not a code!","message":"x"}' },
    ],
  ])("parses %j", (text, expected) => expect(parseTerminationMessage(text)).toEqual(expected));
});

describe("medmlops fetch-model", () => {
  it("exits 0 on success and 1 with a termination message on failure", async () => {
    const log = join(dir, "termination-log");
    await writeFile(log, "");
    const out = join(dir, "out", "cli.onnx");
    const common = ["--pvc-root", join(dir, "pvc"), "--termination-log", log, "--out", out];
    expect(await main(["--uri", "pvc://models/chest/v1.onnx", "--sha256", digest, ...common])).toBe(0);
    expect(await main(["--uri", "pvc://models/chest/v1.onnx", "--sha256", "f".repeat(64), ...common])).toBe(
      1,
    );
    expect(parseTerminationMessage(await readFile(log, "utf8"))?.reason).toBe("DigestMismatch");
  });
  it("exits 2 on bad flags", async () => {
    expect(await main(["--uri", "pvc://a/b"])).toBe(2);
    expect(await main(["--bogus"])).toBe(2);
  });
});
