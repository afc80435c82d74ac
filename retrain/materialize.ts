/**
 * `medmlops dataset materialize`: fetch one split of a frozen dataset from the monitor into a folder (the
 * trainer's /data), de-identifying every kept DICOM instance again under the job's deid options with the
 * hospital's key. Fails closed: a case that cannot be de-identified, or a manifest digest that differs from the
 * expected one, fails the whole run and empties the folder (in a pod the trainer then never starts: an init
 * container that fails stops the Job). `dataset.json` is written last, so a folder without it is incomplete.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DeidKey, type DeidOptionName, deidentify } from "../deid/index.ts";
import { type ClientTlsFiles, securedFetch } from "../common/tls/client.ts";
import { MonitorClient } from "../monitor/client.ts";
import { getCaseDicom } from "../monitor/datasets/binary.ts";
import { type CaseLine, DATASET_FORMAT, type DatasetFile } from "./data-format.ts";

export class MaterializeError extends Error {
  constructor(
    readonly code: "DEID_FAILED" | "MANIFEST_MISMATCH" | "EMPTY_SPLIT",
    message: string,
  ) {
    super(message);
    this.name = "MaterializeError";
  }
}

export interface MaterializeOptions {
  monitorUrl: string;
  datasetId: string;
  split: "train" | "test";
  out: string;
  key: DeidKey;
  deidOptions: DeidOptionName[];
  /** Refuse unless the monitor's manifest has this digest (status.dataset.manifestSha256). */
  expectSha256?: string;
  /** CA, client certificate and/or token for an https:// monitor (--monitor-ca …). */
  tls?: ClientTlsFiles;
}

const SAFE_FILE = /^[A-Za-z0-9._-]+$/;

export async function materialize(
  o: MaterializeOptions,
): Promise<{ cases: number; images: number; manifestSha256: string }> {
  // One fetch (one connection pool, one set of credentials) for the JSON and the DICOM calls.
  const fetchImpl = o.tls ? securedFetch(o.tls) : fetch;
  const ds = await new MonitorClient(o.monitorUrl, { timeoutMs: 120_000, fetch: fetchImpl }).getDatasetCases(
    o.datasetId,
    o.split,
  );
  if (o.expectSha256 && ds.manifestSha256 !== o.expectSha256) {
    throw new MaterializeError("MANIFEST_MISMATCH", "the monitor's manifest differs from the frozen one");
  }
  if (ds.cases.length === 0) throw new MaterializeError("EMPTY_SPLIT", `the ${o.split} split is empty`);
  const tmp = o.out;
  emptyDir(tmp);
  mkdirSync(join(tmp, "images"), { recursive: true });
  try {
    const lines: CaseLine[] = [];
    let images = 0;
    for (const c of ds.cases) {
      const line: CaseLine = { caseId: c.caseId, site: c.site, label: c.label, features: c.features };
      if (c.hasImage) {
        const bytes = await getCaseDicom(o.monitorUrl, o.datasetId, c.caseId, fetchImpl);
        const r = deidentify(bytes, { key: o.key, options: o.deidOptions });
        if (!r.ok) {
          // the reason names a rule, never a value (deid's contract); the case id is an opaque HMAC
          throw new MaterializeError("DEID_FAILED", `case ${c.caseId} could not be de-identified: ${r.code}`);
        }
        const file = SAFE_FILE.test(c.caseId) ? c.caseId : Buffer.from(c.caseId).toString("hex");
        writeFileSync(join(tmp, "images", `${file}.dcm`), r.output);
        line.image = `images/${file}.dcm`;
        images++;
      }
      lines.push(line);
    }
    const features = [...new Set(lines.flatMap((l) => Object.keys(l.features)))].sort();
    const meta: DatasetFile = {
      format: DATASET_FORMAT,
      datasetId: o.datasetId,
      manifestSha256: ds.manifestSha256,
      split: o.split,
      cases: lines.length,
      features,
    };
    writeFileSync(join(tmp, "cases.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    writeFileSync(join(tmp, "dataset.json"), `${JSON.stringify(meta, null, 2)}\n`);
    return { cases: lines.length, images, manifestSha256: ds.manifestSha256 };
  } catch (e) {
    emptyDir(tmp);
    throw e;
  }
}

/** Empties a folder without removing it (it may be a mounted volume). */
function emptyDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
}
