/**
 * Retraining datasets and kept cases (issue 14; docs/retraining.md):
 *   PUT  /v1/datasets/:id                 freeze (idempotent; 201 created, 200 existing; 409 DATASET_IMMUTABLE)
 *   GET  /v1/datasets/:id                 summary (404 DATASET_NOT_FOUND)
 *   GET  /v1/datasets/:id/cases?split=    the split's cases: labels, features, whether a DICOM is kept
 *   GET  /v1/datasets/:id/cases/:caseId/dicom   the kept instance (application/dicom)
 *   PUT|GET /v1/datasets/:id/evaluation   the evaluation report
 *   POST /v1/datasets/containing {pseudonym}    the datasets holding a patient (taint listing)
 *   PUT  /v1/cases/:namespace/:model/:caseId    keep a de-identified DICOM (header x-medmlops-patient optional)
 *   POST /v1/cases/erase {pseudonym}      erase the patient's kept cases and frozen feature copies
 */
import { z } from "zod";
import { Pseudonym } from "../wire.ts";
import {
  datasetCaseDicom,
  datasetCases,
  datasetsContaining,
  eraseKeptCases,
  freezeDataset,
  getDataset,
  getEvaluation,
  putEvaluation,
  putKeptCase,
} from "../datasets/store.ts";
import { EvaluationReportSchema } from "../datasets/report.ts";
import { DatasetId, FreezeRequestSchema, TaintQuerySchema } from "../datasets/wire.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import { CaseId, Namespace, ObjectName } from "../wire.ts";
import type { RouteModule } from "./types.ts";

const IdParams = z.object({ id: DatasetId });
const notFound = () => new ApiError(404, "DATASET_NOT_FOUND", "no dataset with this id");
const MAX_DICOM = 512 * 1024 * 1024;

export const datasets: RouteModule = {
  name: "datasets",
  register(app, ctx) {
    app.addContentTypeParser(
      "application/dicom",
      { parseAs: "buffer", bodyLimit: MAX_DICOM },
      (_req, body, done) => done(null, body),
    );

    app.put("/v1/datasets/:id", async (req, reply) => {
      const { id } = parseOr400(IdParams, req.params, "INVALID_DATASET_ID");
      const body = parseOr400(FreezeRequestSchema, req.body, "INVALID_DATASET");
      const r = await freezeDataset(ctx.db, id, body);
      return reply.code(r.created ? 201 : 200).send(r.dataset);
    });

    app.get("/v1/datasets/:id", async (req) => {
      const { id } = parseOr400(IdParams, req.params, "INVALID_DATASET_ID");
      return (await getDataset(ctx.db, id)) ?? Promise.reject(notFound());
    });

    app.get("/v1/datasets/:id/cases", async (req) => {
      const { id } = parseOr400(IdParams, req.params, "INVALID_DATASET_ID");
      const { split } = parseOr400(
        z.object({ split: z.enum(["train", "test"]) }),
        req.query,
        "INVALID_QUERY",
      );
      return (await datasetCases(ctx.db, id, split)) ?? Promise.reject(notFound());
    });

    app.get("/v1/datasets/:id/cases/:caseId/dicom", async (req, reply) => {
      const p = parseOr400(IdParams.extend({ caseId: CaseId }), req.params, "INVALID_CASE");
      const dicom = await datasetCaseDicom(ctx.db, p.id, p.caseId);
      if (!dicom) throw new ApiError(404, "CASE_NOT_FOUND", "no kept instance for this case in this dataset");
      return reply.type("application/dicom").send(Buffer.from(dicom));
    });

    app.put("/v1/datasets/:id/evaluation", async (req, reply) => {
      const { id } = parseOr400(IdParams, req.params, "INVALID_DATASET_ID");
      const report = parseOr400(EvaluationReportSchema, req.body, "INVALID_REPORT");
      if (!(await putEvaluation(ctx.db, id, report))) throw notFound();
      return reply.code(204).send();
    });

    app.get("/v1/datasets/:id/evaluation", async (req) => {
      const { id } = parseOr400(IdParams, req.params, "INVALID_DATASET_ID");
      const r = await getEvaluation(ctx.db, id);
      if (r === undefined) throw notFound();
      if (r === null) throw new ApiError(404, "NO_EVALUATION", "the dataset has no evaluation report yet");
      return r;
    });

    app.post("/v1/datasets/containing", async (req) => {
      const { pseudonym } = parseOr400(TaintQuerySchema, req.body, "INVALID_PSEUDONYM");
      return { datasets: await datasetsContaining(ctx.db, pseudonym) };
    });

    app.put("/v1/cases/:namespace/:model/:caseId", async (req, reply) => {
      const p = parseOr400(
        z.object({ namespace: Namespace, model: ObjectName, caseId: CaseId }),
        req.params,
        "INVALID_CASE",
      );
      if (!Buffer.isBuffer(req.body))
        throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send application/dicom");
      const header = req.headers["x-medmlops-patient"];
      const patient =
        header === undefined
          ? null
          : parseOr400(Pseudonym, Array.isArray(header) ? header[0] : header, "INVALID_PSEUDONYM");
      await putKeptCase(ctx.db, { ...p, patient }, req.body);
      return reply.code(204).send();
    });

    app.post("/v1/cases/erase", async (req) => {
      const { pseudonym } = parseOr400(TaintQuerySchema, req.body, "INVALID_PSEUDONYM");
      return { erased: await eraseKeptCases(ctx.db, pseudonym) };
    });
  },
};
