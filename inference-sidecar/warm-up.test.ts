import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LoadedModel, loadModel } from "./model.ts";
import { Signature } from "./signature.ts";
import { type TestModelName, writeModel } from "./testing/models.ts";
import { WarmUpError, warmUp, warmUpFeeds } from "./warm-up.ts";

describe("warm-up before ready", () => {
  const dir = mkdtempSync(join(tmpdir(), "warm-up-"));
  const loaded: LoadedModel[] = [];
  const load = async (name: TestModelName) => {
    const m = await loadModel({ path: writeModel(dir, name) });
    loaded.push(m);
    return m;
  };
  afterAll(async () => {
    for (const m of loaded) await m.session.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it("feeds zeros at batch 1 in each input's datatype and shape", () => {
    const sig = Signature.parse({
      inputs: [
        { name: "image", datatype: "FP32", shape: [-1, 1, 4, 4] },
        { name: "ids", datatype: "INT64", shape: [-1, 5] },
        { name: "fixed", datatype: "UINT8", shape: [2, 3] },
      ],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    });
    const feeds = warmUpFeeds(sig);
    expect(typeof feeds).toBe("object");
    const f = feeds as Exclude<typeof feeds, string>;
    expect(f.image?.dims).toEqual([1, 1, 4, 4]);
    expect(f.image?.data).toEqual(new Float32Array(16));
    expect(f.ids?.data).toEqual(new BigInt64Array(5));
    expect(f.ids?.type).toBe("int64");
    expect(f.fixed?.dims).toEqual([2, 3]);
  });

  it("says why it cannot guess inputs: an open image size, a BYTES input", () => {
    const open = Signature.parse({
      inputs: [{ name: "image", datatype: "FP32", shape: [-1, 1, -1, -1] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    });
    expect(warmUpFeeds(open)).toBe('input "image" has dynamic dimensions [-1,1,-1,-1]');
    const text = Signature.parse({
      inputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
    });
    expect(warmUpFeeds(text)).toBe('input "text" is BYTES');
  });

  it("runs a real model the asked number of times, timing each", async () => {
    const m = await load("cnn");
    let clock = 0;
    const r = await warmUp(m, 3, () => (clock += 5));
    expect(r).toEqual({ ran: 3, firstMs: 5, lastMs: 5 });
    expect(await warmUp(m, 0)).toEqual({ ran: 0, skipped: "disabled" });
  });

  it("fails with onnxruntime's reason when the model loads but cannot run", async () => {
    const m = await load("fails");
    const err = await warmUp(m, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarmUpError);
    expect((err as Error).message).toMatch(/^warm-up run 1 of 2 failed: .*Reshape/);
  });
});
