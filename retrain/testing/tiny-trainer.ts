/**
 * A tiny but real trainer that honours the trainer contract (docs/retraining.md), for the end-to-end test:
 * reads $MEDMLOPS_DATA_DIR (dataset.json, cases.jsonl), fits a logistic regression on the features, writes
 * $MEDMLOPS_OUTPUT_DIR/model.onnx and leaves {"sha256", "uri"} in $MEDMLOPS_TERMINATION_LOG (in a pod:
 * /dev/termination-log). TRAINER_SLEEP_MS delays it (the timeout test); TRAINER_INVERT=1 learns the wrong sign
 * (a candidate that must be rejected).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CaseLineSchema, DatasetFileSchema, featureVector } from "../data-format.ts";
import { fitLogistic, linearModel } from "./linear-model.ts";

const env = process.env;
const data = env.MEDMLOPS_DATA_DIR ?? "/data";
const out = env.MEDMLOPS_OUTPUT_DIR ?? "/output";
const meta = DatasetFileSchema.parse(JSON.parse(readFileSync(join(data, "dataset.json"), "utf8")));
const cases = readFileSync(join(data, "cases.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => CaseLineSchema.parse(JSON.parse(l)))
  .filter((c) => c.label?.positive !== undefined);
if (env.TRAINER_SLEEP_MS) await new Promise((r) => setTimeout(r, Number(env.TRAINER_SLEEP_MS)));
const x = cases.map((c) => featureVector(c, meta.features));
const y = cases.map((c) => (c.label?.positive ? 1 : 0));
const fit = fitLogistic(x, y);
const sign = env.TRAINER_INVERT === "1" ? -1 : 1;
const bytes = linearModel(
  fit.w.map((v) => v * sign),
  fit.b * sign,
);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "model.onnx"), bytes);
const sha256 = createHash("sha256").update(bytes).digest("hex");
const result = JSON.stringify({
  sha256,
  ...(env.MEDMLOPS_CANDIDATE_URI ? { uri: env.MEDMLOPS_CANDIDATE_URI } : {}),
});
writeFileSync(env.MEDMLOPS_TERMINATION_LOG ?? "/dev/termination-log", result);
process.stdout.write(`${result}\n`);
