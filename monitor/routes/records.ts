import { z } from "zod";
import { ApiError, parseOr400 } from "../errors.ts";
import { ingestRecords } from "../ingest.ts";
import { MAX_RECORDS_PER_CALL } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Body = z.object({ records: z.array(z.unknown()) });

/** POST /v1/records → 202 {accepted, excluded, rejected[{index, code}]}. */
export const records: RouteModule = {
  name: "records",
  register(app, ctx) {
    app.post("/v1/records", async (req, reply) => {
      const body = parseOr400(Body, req.body);
      if (body.records.length > MAX_RECORDS_PER_CALL) {
        throw new ApiError(413, "TOO_MANY_RECORDS", `at most ${MAX_RECORDS_PER_CALL} records per call`);
      }
      return reply.code(202).send(await ingestRecords(ctx, body.records));
    });
  },
};
