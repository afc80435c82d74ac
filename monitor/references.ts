/**
 * Reference profiles: stored as given (the document `medmlops monitor profile` writes) or frozen from stored
 * records of the version. Storing one rebuilds the version's roll-ups on its bins, under the model's exclusive
 * lock so no ingest adds deltas on the old bins meanwhile.
 */
import type { MonitorContext } from "./context.ts";
import type { Queryable } from "./db/index.ts";
import { ApiError, describeIssues } from "./errors.ts";
import { lockModels, rebuild } from "./rollups.ts";
import {
  buildProfile,
  type ProfileRecord,
  type ReferenceProfile,
  ReferenceProfileSchema,
} from "./stats/index.ts";
import { FreezeReferenceSchema, type ReferenceResponse } from "./wire.ts";

export const MAX_REFERENCE_RECORDS = 100_000;

export async function putReference(
  ctx: MonitorContext,
  key: { namespace: string; model: string; version: string },
  body: unknown,
): Promise<ReferenceResponse> {
  const isDocument = typeof body === "object" && body !== null && "format" in body;
  let profile: ReferenceProfile | undefined;
  if (isDocument) {
    const p = ReferenceProfileSchema.safeParse(body);
    if (!p.success) throw new ApiError(400, "INVALID_PROFILE", describeIssues(p.error));
    profile = p.data;
  } else {
    const f = FreezeReferenceSchema.safeParse(body);
    if (!f.success) {
      throw new ApiError(
        400,
        "INVALID_REFERENCE",
        "the body is a reference profile document, {fromRecords: {since, until}} or {firstRecords: N (10-100000)}",
      );
    }
    const records = await freezeSource(ctx.db, key, f.data);
    profile = buildProfile(records);
  }
  const frozen = profile;
  await ctx.db.transaction(async (tx) => {
    await lockModels(tx, [`${key.namespace}/${key.model}`], "exclusive");
    await tx.query(
      `INSERT INTO reference_profiles (namespace, model, version, profile) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (namespace, model, version) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()`,
      [key.namespace, key.model, key.version, JSON.stringify(frozen)],
    );
    await rebuild(tx, key.namespace, key.model, key.version, frozen);
  });
  return { ...key, n: frozen.n, features: Object.keys(frozen.features).sort() };
}

async function freezeSource(
  q: Queryable,
  key: { namespace: string; model: string; version: string },
  how: { fromRecords: { since: string; until: string } } | { firstRecords: number },
): Promise<ProfileRecord[]> {
  const base =
    "SELECT inputs, outputs, metadata FROM records WHERE namespace = $1 AND model = $2 AND version = $3";
  const params = [key.namespace, key.model, key.version];
  if ("firstRecords" in how) {
    const { rows } = await q.query<ProfileRecord>(`${base} ORDER BY time, id LIMIT $4`, [
      ...params,
      how.firstRecords,
    ]);
    if (rows.length < how.firstRecords) {
      throw new ApiError(
        409,
        "NOT_ENOUGH_RECORDS",
        `the version has ${rows.length} stored records, fewer than the ${how.firstRecords} asked for`,
      );
    }
    return rows;
  }
  if (Date.parse(how.fromRecords.since) >= Date.parse(how.fromRecords.until)) {
    throw new ApiError(400, "INVALID_REFERENCE", "fromRecords.since must be before fromRecords.until");
  }
  const { rows } = await q.query<ProfileRecord>(
    `${base} AND time >= $4 AND time < $5 ORDER BY time, id LIMIT $6`,
    [...params, how.fromRecords.since, how.fromRecords.until, MAX_REFERENCE_RECORDS + 1],
  );
  if (rows.length > MAX_REFERENCE_RECORDS) {
    throw new ApiError(
      422,
      "REFERENCE_TOO_LARGE",
      `more than ${MAX_REFERENCE_RECORDS} records in the range; use a shorter range or firstRecords`,
    );
  }
  if (rows.length < 10) {
    throw new ApiError(
      409,
      "NOT_ENOUGH_RECORDS",
      `the range holds ${rows.length} records; a reference needs at least 10`,
    );
  }
  return rows;
}

export async function getReference(
  q: Queryable,
  key: { namespace: string; model: string; version: string },
): Promise<ReferenceProfile> {
  const { rows } = await q.query<{ profile: ReferenceProfile }>(
    "SELECT profile FROM reference_profiles WHERE namespace = $1 AND model = $2 AND version = $3",
    [key.namespace, key.model, key.version],
  );
  if (!rows[0]) throw new ApiError(404, "REFERENCE_NOT_FOUND", "no reference profile for this version");
  return rows[0].profile;
}
