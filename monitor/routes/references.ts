import { z } from "zod";
import { parseOr400 } from "../errors.ts";
import { getReference, putReference } from "../references.ts";
import { Namespace, ObjectName, VersionName } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const Params = z.object({ namespace: Namespace, model: ObjectName, version: VersionName });

/** PUT/GET /v1/references/{namespace}/{model}/{version}. */
export const references: RouteModule = {
  name: "references",
  register(app, ctx) {
    app.put("/v1/references/:namespace/:model/:version", async (req) => {
      const key = parseOr400(Params, req.params, "INVALID_PATH");
      return putReference(ctx, key, req.body);
    });
    app.get("/v1/references/:namespace/:model/:version", async (req) => {
      const key = parseOr400(Params, req.params, "INVALID_PATH");
      return getReference(ctx.db, key);
    });
  },
};
