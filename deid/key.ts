/**
 * The per-hospital pseudonymisation key. Sources, first match wins:
 *   1. an explicit key file (`--key-file`),
 *   2. `MEDMLOPS_DEID_KEY` (the secret itself, for local use),
 *   3. `MEDMLOPS_DEID_KEY_FILE` (a path),
 *   4. a mounted Kubernetes Secret directory, `MEDMLOPS_DEID_KEY_DIR` (default /var/run/secrets/medmlops/deid),
 *      holding `key` or `hmac-key` (the CRDs' default Secret key) and optionally `version`.
 * The version comes from `MEDMLOPS_DEID_KEY_VERSION`, a `version` file next to the key, or else a fingerprint
 * (first 12 hex digits of HMAC-SHA256(secret, "medmlops-key-fingerprint")), which names the key without revealing it.
 */
import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { DeidKey } from "./types.ts";

export const DEFAULT_KEY_DIR = "/var/run/secrets/medmlops/deid";
/** 32 bytes = 256 bits, the HMAC-SHA256 block strength; shorter secrets are refused. */
export const MIN_SECRET_BYTES = 32;
/** File names looked for in a mounted Secret: ours, then the CRDs' default key name (crds/common.ts). */
export const SECRET_KEY_FILES = ["key", "hmac-key"] as const;

const versionSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._:-]{1,32}$/, "key version: 1-32 characters of A-Z a-z 0-9 . _ : -");

export class KeyError extends Error {
  readonly code = "KEY_ERROR";
}

export interface KeySource {
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** Builds a key from secret material; `version` defaults to the key's fingerprint. */
export function keyFromSecret(secret: string | Uint8Array, version?: string): DeidKey {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret.trim()) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new KeyError(`de-identification key too short: need at least ${MIN_SECRET_BYTES} bytes`);
  }
  const v = version === undefined ? fingerprint(bytes) : versionSchema.parse(version);
  return { version: v, secret: Uint8Array.from(bytes) };
}

export function fingerprint(secret: Uint8Array): string {
  return `fp-${createHmac("sha256", secret).update("medmlops-key-fingerprint").digest("hex").slice(0, 12)}`;
}

/** Loads the key from the first configured source (see the module comment); throws KeyError if none. */
export function loadKey(source: KeySource = {}): DeidKey {
  const env = source.env ?? process.env;
  const envVersion = env.MEDMLOPS_DEID_KEY_VERSION;
  if (source.file) return fromFile(source.file, envVersion);
  if (env.MEDMLOPS_DEID_KEY) return keyFromSecret(env.MEDMLOPS_DEID_KEY, envVersion);
  if (env.MEDMLOPS_DEID_KEY_FILE) return fromFile(env.MEDMLOPS_DEID_KEY_FILE, envVersion);
  const dir = env.MEDMLOPS_DEID_KEY_DIR ?? DEFAULT_KEY_DIR;
  for (const name of SECRET_KEY_FILES) {
    if (existsSync(join(dir, name))) return fromFile(join(dir, name), envVersion);
  }
  throw new KeyError(
    "no de-identification key: pass --key-file, set MEDMLOPS_DEID_KEY or MEDMLOPS_DEID_KEY_FILE, " +
      `or mount the Secret at ${dir} (file "key" or "hmac-key")`,
  );
}

function fromFile(path: string, envVersion: string | undefined): DeidKey {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch {
    throw new KeyError("cannot read the de-identification key file");
  }
  const versionFile = join(dirname(path), "version");
  const version =
    envVersion ?? (existsSync(versionFile) ? readFileSync(versionFile, "utf8").trim() : undefined);
  return keyFromSecret(raw.toString("utf8"), version);
}
