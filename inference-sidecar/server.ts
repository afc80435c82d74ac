/**
 * The sidecar's HTTP face: Open Inference Protocol v2 REST over fastify, DICOM input; /metrics on a port of its
 * own (metrics-server.ts).
 * State (loading → ready, suspended, draining) lives here; decoding, batching and preprocessing are in
 * their own modules. Logs carry request ids, sizes, statuses and timings — never request content.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type ServerSecurity, ServerGuard } from "../common/tls/server.ts";
import { Batcher } from "./batcher.ts";
import { readBody } from "./body.ts";
import { type CaseIdKey, caseId } from "./case-id.ts";
import { describeInternalError } from "./internal-error.ts";
import type { ControlState } from "./control.ts";
import { type DeidKey, patientPseudonym } from "../deid/index.ts";
import { type DeidGate, deidGate, keepCase } from "./deid-gate.ts";
import {
  type DicomCase,
  type DicomLimits,
  dicomPartsToTensor,
  isDicomContentType,
  mediaType,
  pickDicomInput,
  splitDicomBody,
} from "./dicom/request.ts";
import { monitorMetadata, patientIdOf } from "./dicom/monitor-metadata.ts";
import { type EarlyParse, earlyParse } from "./early-parse.ts";
import { fail, SidecarError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import { type InputSummary, summarizeInput } from "./input-stats.ts";
import { SidecarMetrics } from "./metrics.ts";
import { metricsServer } from "./metrics-server.ts";
import type { MonitorEmitter } from "./monitor-emitter.ts";
import { buildRecord, type RecordParts } from "./monitor-record.ts";
import { ownedPool } from "./owned-buffers.ts";
import { batchKey, type LoadedModel, runBatch } from "./model.ts";
import type { SessionLike } from "./ort-worker.ts";
import { activate, type ItemPrediction, predictions } from "./postprocess.ts";
import { encodeInferResponse, parseInferRequest, type RequestedOutput, type Tensor } from "./protocol.ts";
import { clientError, httpServer } from "./server-http.ts";
import { isBatchable, type Signature } from "./signature.ts";

export const SERVER_NAME = "medmlops-sidecar";
export const SERVER_VERSION = "0.1.0";
export const SUSPENDED_MESSAGE = "AI unavailable — refer to clinician";

export interface SidecarConfig {
  modelName: string;
  modelVersion: string;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Largest accepted body, bytes. */
  bodyLimit: number;
  /** Longest an infer request may take from arrival to answer (queue + run), ms. */
  requestTimeoutMs: number;
  /** Requests waiting for a batch beyond which new ones are refused with 503 OVERLOADED (default 256). */
  maxQueue?: number;
  /** Null: no case id key (answers carry `case_id: null`, nothing is kept). */
  caseIdKey: CaseIdKey | null;
  logger: Logger;
  /** DataToModel de-identifies every DICOM instance before use (default: ModelToData, used as received). */
  deid?: DeidGate;
  /** Keep each DICOM case (after the de-identification gate) under this folder, for monitoring samples. */
  keepDir?: string;
  /** Bounds on one DICOM request's decoding work and model input (default DEFAULT_DICOM_LIMITS). */
  dicomLimits?: DicomLimits;
  /** Open connections beyond which new ones are refused (default 1024). */
  maxConnections?: number;
  /** One monitor Record per answered request (--monitor-url); see monitor-emitter.ts and monitor-record.ts. */
  monitor?: SidecarMonitor;
  /** The metrics registry (the monitor emitter registers its metrics in it too); a new one by default. */
  registry?: Registry;
  /** TLS and client authentication for /v2/models/… (docs/security.md); default plain HTTP, no credential. */
  security?: ServerSecurity;
}

export interface SidecarMonitor {
  emitter: MonitorEmitter;
  namespace: string;
  site?: string;
  /** The de-identification key, when mounted: records then carry the patient pseudonym (ModelToData). */
  pseudonymKey?: DeidKey;
}

/** Media types the infer endpoint speaks (OIP v2 JSON and binary extension, DICOM, DICOMweb multipart). */
const INFER_MEDIA_TYPES = new Set([
  "application/json",
  "application/octet-stream",
  "application/dicom",
  "multipart/related",
]);

/** Paths anyone who reaches the inference port may call (probes, server metadata); /metrics is on its own port. */
const OPEN_PATHS = new Set(["/v2/health/live", "/v2/health/ready", "/v2"]);

type Phase = "loading" | "ready" | "failed" | "draining";

export class Sidecar {
  readonly app: FastifyInstance;
  /** The metrics port's server: GET /metrics only, plain HTTP (metrics-server.ts). */
  readonly metricsApp: FastifyInstance;
  readonly metrics: SidecarMetrics;
  /** TLS (reloaded on rotation) and the credential check of the model routes. */
  readonly guard: ServerGuard;
  private phase: Phase = "loading";
  private control: ControlState = { suspended: false };
  private model: LoadedModel | undefined;
  private batcher: Batcher<Map<string, Tensor>, Map<string, Tensor>> | undefined;
  private inflight = 0;
  /** Infer requests whose headers arrived and whose body is still being received (for batch filling). */
  private receiving = 0;
  private idleWaiters: (() => void)[] = [];
  private failure = "";

  constructor(private readonly cfg: SidecarConfig) {
    this.metrics = new SidecarMetrics(cfg.modelName, cfg.modelVersion, undefined, cfg.registry);
    this.guard = new ServerGuard(cfg.security ?? { clientAuth: "none" }, (message) =>
      cfg.logger.error({ message }, "rotated TLS or token files not applied; the previous ones stay in use"),
    );
    this.app = Fastify({
      loggerInstance: cfg.logger as unknown as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: cfg.bodyLimit,
      requestTimeout: cfg.requestTimeoutMs,
      serverFactory: (handler) => httpServer(handler, cfg, this.guard),
      clientErrorHandler: clientError,
      genReqId: () => randomUUID(),
      // Model names may contain dots and dashes; keep the default router but allow long segments.
      routerOptions: { maxParamLength: 256 },
    });
    this.routes();
    this.metricsApp = metricsServer(this.metrics.registry, cfg.logger);
  }

  get ready(): boolean {
    return this.phase === "ready";
  }

  get suspended(): boolean {
    return this.control.suspended;
  }

  get signature(): Signature | undefined {
    return this.model?.signature;
  }

  /** Installs a loaded model and starts serving it. */
  setModel(model: LoadedModel): void {
    this.model = model;
    this.metrics.setSignature(model.signature);
    this.metrics.setProvider(model.executionProvider);
    const batchable = isBatchable(model.signature);
    this.batcher = new Batcher({
      maxBatchSize: batchable ? this.cfg.maxBatchSize : 1,
      maxQueueDelayMs: batchable ? this.cfg.maxQueueDelayMs : 0,
      size: (req) => (batchable ? (req.values().next().value?.shape[0] ?? 1) : 1),
      key: (req) => (batchable ? batchKey(req) : ""),
      run: (reqs) => this.run(model.session, model.signature, reqs),
      incoming: () => this.receiving,
      runsBlockEventLoop: model.session.blocksEventLoop,
      onBatch: ({ items, requests, queueMs }) => {
        this.metrics.observeBatch(items, queueMs);
        this.cfg.logger.debug(
          { items, requests, receiving: this.receiving, maxQueueMs: Math.round(Math.max(...queueMs)) },
          "batch",
        );
      },
    });
    this.phase = "ready";
    this.updateStateMetric();
    this.cfg.logger.info(
      { provider: model.executionProvider, batchable, sha256: model.sha256 },
      "model ready",
    );
  }

  setFailed(message: string): void {
    this.phase = "failed";
    this.failure = message;
    this.updateStateMetric();
  }

  setControl(state: ControlState): void {
    this.control = state;
    this.updateStateMetric();
    // The reason is operator-written text, not patient data; still logged only as a length-capped string.
    this.cfg.logger.warn(
      { suspended: state.suspended, reason: state.reason?.slice(0, 200) },
      state.suspended ? "model suspended" : "model resumed",
    );
  }

  private updateStateMetric(): void {
    const s = this.phase === "ready" && this.control.suspended ? "suspended" : this.phase;
    this.metrics.setState(s);
  }

  private async run(
    session: SessionLike,
    sig: Signature,
    reqs: Map<string, Tensor>[],
  ): Promise<Map<string, Tensor>[]> {
    const t = performance.now();
    try {
      return await runBatch(session, sig, reqs);
    } finally {
      this.metrics.observeInference((performance.now() - t) / 1000);
    }
  }

  /** Graceful shutdown: not ready first, let in-flight requests finish (bounded), then close. */
  async drain(graceMs: number): Promise<void> {
    this.phase = "draining";
    this.updateStateMetric();
    if (this.inflight > 0) {
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise((r) => setTimeout(r, graceMs).unref()),
      ]);
    }
    await this.close();
  }

  /** Stops listening, sends what the monitor is still owed (bounded), releases the model and its worker. */
  async close(): Promise<void> {
    await Promise.all([this.app.close(), this.metricsApp.close()]);
    await this.cfg.monitor?.emitter.close();
    await this.model?.session.release();
  }

  private routes(): void {
    const app = this.app;
    app.removeAllContentTypeParsers();
    // Bodies go into owned, aligned buffers (body.ts): binary tensors become views, not copies. The JSON header
    // of a binary request is parsed as soon as it has arrived, while the tensors are still on their way.
    app.addContentTypeParser("*", (req: FastifyRequest, payload: IncomingMessage) => {
      // Refused before a byte of the body is read: only the protocol's media types are parsed at all.
      const media = mediaType(String(req.headers["content-type"] ?? ""));
      if (!INFER_MEDIA_TYPES.has(media))
        return Promise.reject(
          new SidecarError(
            "UNSUPPORTED_MEDIA_TYPE",
            `content type "${media.slice(0, 60)}" is not supported; send application/json, application/octet-stream (binary tensors), application/dicom or multipart/related`,
          ),
        );
      const headerLength = headerInt(req.headers["inference-header-content-length"]);
      const model = this.model;
      return readBody(payload, {
        contentLength: headerInt(req.headers["content-length"]),
        limit: this.cfg.bodyLimit,
        alignAt: headerLength,
        onHeader:
          model && headerLength !== undefined && req.url.endsWith("/infer")
            ? (body) => {
                (req as EarlyParsed)[earlyKey] = earlyParse(body, headerLength, model.signature);
              }
            : undefined,
      });
    });

    app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
      const e = this.toSidecarError(err);
      if (e.status >= 500)
        // Class, code and a stable id only: a library's message may echo request content (PHI).
        req.log.error({ code: e.code, err: describeInternalError(err) }, "request failed");
      if (e.code === "DEID_BUSY") reply.header("retry-after", String(DEID_RETRY_AFTER_S));
      void reply.code(e.status).send(e.toJSON());
    });
    app.setNotFoundHandler((req, reply) => {
      void reply
        .code(404)
        .send(new SidecarError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`).toJSON());
    });

    // Count infer requests while their bodies arrive, so the batcher can wait for them instead of cutting
    // a half-empty batch. Every path out (handler reached, error reply, abort) decrements exactly once.
    const receivingKey = Symbol("receiving");
    type Tracked = FastifyRequest & { [receivingKey]?: boolean };
    const done = (req: Tracked) => {
      if (req[receivingKey]) {
        req[receivingKey] = false;
        this.receiving--;
        this.batcher?.poke();
      }
    };
    // Callback hooks, not async ones: no promise per hook on the request path.
    if (this.guard.security.clientAuth !== "none")
      // Every model route (inference and metadata) needs the credential; health and /v2 stay open for kubelet
      // probes (the NetworkPolicy limits who reaches the port at all). An allow-list of open paths, so an oddly
      // spelled URL is never mistaken for an open one.
      app.addHook("onRequest", (req, reply, next) => {
        const open = OPEN_PATHS.has(req.url.split("?", 1)[0]!);
        const refusal = open ? undefined : this.guard.check(req.raw);
        if (!refusal) return next();
        if (refusal.wwwAuthenticate) void reply.header("www-authenticate", refusal.wwwAuthenticate);
        void reply.code(refusal.status).send({ error: refusal.error, code: refusal.code });
      });
    app.addHook("onRequest", (req: Tracked, _reply, next) => {
      if (req.method === "POST" && req.url.endsWith("/infer")) {
        req[receivingKey] = true;
        this.receiving++;
      }
      next();
    });
    app.addHook("preHandler", (req: Tracked, _reply, next) => {
      done(req);
      next();
    });
    app.addHook("onResponse", (req: Tracked, _reply, next) => {
      done(req);
      next();
    });
    app.addHook("onRequestAbort", (req: Tracked, next) => {
      done(req);
      next();
    });

    app.get("/v2/health/live", async () => ({ live: true }));
    app.get("/v2/health/ready", async (_req, reply) => {
      // Suspended still counts as ready: the pod must stay in the Service so callers get the clear 503.
      reply.code(this.ready ? 200 : 400);
      return { ready: this.ready };
    });
    app.get("/v2", async () => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      extensions: ["binary_tensor_data", "dicom"],
      execution_provider: this.model?.executionProvider ?? null,
    }));

    const modelPaths = ["/v2/models/:model", "/v2/models/:model/versions/:version"];
    for (const p of modelPaths) {
      app.get(p, async (req) => {
        this.resolveModel(req);
        return this.metadata();
      });
      app.get(`${p}/ready`, async (req, reply) => {
        this.resolveModel(req);
        const ready = this.ready && !this.control.suspended;
        reply.code(ready ? 200 : 400);
        return { name: this.cfg.modelName, ready };
      });
      app.post(`${p}/infer`, (req, reply) => this.infer(req, reply));
    }
  }

  private toSidecarError(err: Error & { code?: string; statusCode?: number }): SidecarError {
    if (err instanceof SidecarError) return err;
    switch (err.code) {
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        return new SidecarError(
          "BODY_TOO_LARGE",
          `request body exceeds the limit of ${this.cfg.bodyLimit} bytes`,
        );
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        return new SidecarError("UNSUPPORTED_MEDIA_TYPE", "unsupported content type");
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return new SidecarError("BAD_REQUEST", err.message.slice(0, 200));
    }
    return new SidecarError("INTERNAL", "internal error");
  }

  private resolveModel(req: FastifyRequest): void {
    const { model, version } = req.params as { model: string; version?: string };
    if (model !== this.cfg.modelName)
      fail(
        "MODEL_NOT_FOUND",
        `unknown model "${model.slice(0, 100)}"; this server serves "${this.cfg.modelName}"`,
      );
    if (version !== undefined && version !== this.cfg.modelVersion) {
      fail(
        "VERSION_NOT_FOUND",
        `unknown version "${version.slice(0, 100)}" of model "${this.cfg.modelName}"; serving version "${this.cfg.modelVersion}"`,
      );
    }
  }

  metadata(): Record<string, unknown> {
    const sig = this.model?.signature;
    return {
      name: this.cfg.modelName,
      versions: [this.cfg.modelVersion],
      platform: "onnxruntime_onnx",
      inputs: sig?.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })) ?? [],
      outputs: sig?.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })) ?? [],
      parameters: {
        sha256: this.model?.sha256 ?? null,
        execution_provider: this.model?.executionProvider ?? null,
        state: this.phase,
        suspended: this.control.suspended,
        ...(this.phase === "failed" ? { failure: this.failure } : {}),
        ...(sig ? { signature: sig } : {}),
      },
    };
  }

  private async infer(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = performance.now();
    const contentType = String(req.headers["content-type"] ?? "");
    const protocol = isDicomContentType(contentType)
      ? "dicom"
      : req.headers["inference-header-content-length"] !== undefined
        ? "binary"
        : "json";
    let status = 500;
    // Read now: the body's memory may be handed to the inference worker (and so emptied here) later.
    const bytes = req.body instanceof Buffer ? req.body.length : 0;
    this.inflight++;
    this.metrics.incInflight(1);
    try {
      this.resolveModel(req);
      if (this.control.suspended) fail("SUSPENDED", SUSPENDED_MESSAGE);
      if (!this.ready || !this.model || !this.batcher)
        fail(
          "NOT_READY",
          this.phase === "draining" ? "server is shutting down" : `model is not ready (${this.phase})`,
        );
      const body = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
      if (protocol === "dicom") await this.inferDicom(req, reply, body, contentType, started);
      else await this.inferTensors(req, reply, body, protocol, started);
      status = reply.statusCode;
    } catch (err) {
      const e = this.toSidecarError(err as Error);
      status = e.status;
      if (e.status >= 500 && e.code !== "SUSPENDED" && e.code !== "NOT_READY") {
        req.log.error({ code: e.code, err: describeInternalError(err) }, "infer failed");
      }
      if (e.code === "DEID_BUSY") reply.header("retry-after", String(DEID_RETRY_AFTER_S));
      void reply.code(e.status).send(e.toJSON());
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.request(protocol, status, status < 400 ? seconds : undefined);
      req.log.info(
        {
          protocol,
          status,
          ms: Math.round(seconds * 10000) / 10,
          bytes,
        },
        "infer",
      );
      this.inflight--;
      this.metrics.incInflight(-1);
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * The de-identification gate, bounded by --request-timeout-ms like inference. On timeout the check is aborted:
   * a request still waiting for a check slot leaves the queue, and a running check stops at its next frame and frees
   * its slot (the frame under way finishes first: onnxruntime runs cannot be interrupted).
   */
  private async gate(instances: Uint8Array[], seen: { patient?: string } | undefined): Promise<Uint8Array[]> {
    const gate = this.cfg.deid ?? deidGate("ModelToData");
    if (gate.mode === "ModelToData") return gate.pass(instances);
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new SidecarError(
          "TIMEOUT",
          `de-identification did not finish within ${this.cfg.requestTimeoutMs} ms`,
        );
        abort.abort(e);
        reject(e);
      }, this.cfg.requestTimeoutMs);
    });
    const work = gate.pass(instances, {
      seen,
      count: (e) => this.metrics.deidCheck(e),
      signal: abort.signal,
    });
    work.catch(() => {});
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async submit(inputs: Map<string, Tensor>): Promise<Map<string, Tensor>> {
    const batcher = this.batcher as NonNullable<typeof this.batcher>;
    const maxQueue = this.cfg.maxQueue ?? 256;
    if (batcher.queued >= maxQueue)
      throw new SidecarError("OVERLOADED", `${batcher.queued} requests are already waiting; retry later`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SidecarError("TIMEOUT", `inference did not finish within ${this.cfg.requestTimeoutMs} ms`),
          ),
        this.cfg.requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([batcher.submit(inputs), timeout]);
    } catch (e) {
      if (e instanceof SidecarError) throw e;
      throw new SidecarError("INFERENCE_FAILED", `inference failed: ${(e as Error).message.slice(0, 300)}`, {
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Input statistics for /metrics, and for the monitor's record when it is on (one stride pass per input). */
  private recordInputs(inputs: Map<string, Tensor>): Map<string, InputSummary> | undefined {
    const forMonitor = this.cfg.monitor ? new Map<string, InputSummary>() : undefined;
    for (const [name, t] of inputs) {
      if (Array.isArray(t.data)) continue;
      const s = summarizeInput(t.data as ArrayLike<number>, forMonitor !== undefined);
      if (!s) continue;
      this.metrics.inputStats(name, s);
      forMonitor?.set(name, s);
    }
    return forMonitor;
  }

  /**
   * Queues the request's monitor record, after the answer has been sent. Building it is a few object writes;
   * the emitter's enqueue never waits and never throws — and if anything here did, the answer is already out.
   */
  private emitRecord(req: FastifyRequest, parts: RecordParts | undefined): void {
    const monitor = this.cfg.monitor;
    if (!monitor || !parts) return;
    try {
      monitor.emitter.enqueue(
        buildRecord(
          {
            namespace: monitor.namespace,
            model: this.cfg.modelName,
            version: this.cfg.modelVersion,
            site: monitor.site,
          },
          parts,
        ),
      );
    } catch (err) {
      req.log.warn({ err: { type: (err as Error).name } }, "could not queue the monitor record");
    }
  }

  private recordPredictions(sig: Signature, outputs: Map<string, Tensor>): Map<string, ItemPrediction[]> {
    const byOutput = new Map<string, ItemPrediction[]>();
    for (const spec of sig.outputs) {
      const t = outputs.get(spec.name);
      if (
        !t ||
        t.shape.length > 2 ||
        Array.isArray(t.data) ||
        (spec.labels === undefined && spec.activation === "none")
      )
        continue;
      const probs = activate(spec.activation, t.data as ArrayLike<number>, t.shape);
      const items = predictions(spec, probs, t.shape);
      for (const p of items) this.metrics.prediction(spec.name, p.top.label, p.decision?.positive);
      byOutput.set(spec.name, items);
    }
    return byOutput;
  }

  private async inferTensors(
    req: FastifyRequest,
    reply: FastifyReply,
    body: Buffer,
    protocol: string,
    started: number,
  ): Promise<void> {
    const model = this.model as LoadedModel;
    const h = req.headers["inference-header-content-length"];
    let headerLength: number | undefined;
    if (h !== undefined) {
      headerLength = Number(h);
      if (!Number.isSafeInteger(headerLength))
        fail("INVALID_BINARY", "Inference-Header-Content-Length is not an integer");
    }
    const early = (req as EarlyParsed)[earlyKey];
    const parsed =
      early?.body === body && early.headerLength === headerLength
        ? early.parsed
        : parseInferRequest(body, headerLength, model.signature);
    // A JSON body has been read into tensors of their own and is not looked at again: its pages serve the
    // next bodies (binary tensors, in contrast, are views of their body and travel with it).
    if (headerLength === undefined) ownedPool.recycle(body.buffer);
    this.metrics.observePreprocess(protocol, (performance.now() - started) / 1000);
    const inputStats = this.recordInputs(parsed.inputs);
    const outputs = await this.submit(parsed.inputs);
    assertFinite("output", outputs);
    const itemPredictions = this.recordPredictions(model.signature, outputs);
    const requested: RequestedOutput[] =
      parsed.outputs ??
      model.signature.outputs.map((o) => ({ name: o.name, binary: parsed.binaryOutputsByDefault }));
    const enc = encodeInferResponse(
      { modelName: this.cfg.modelName, modelVersion: this.cfg.modelVersion, id: parsed.id ?? req.id },
      outputs,
      requested,
    );
    if (enc.headerLength !== undefined) {
      reply
        .header("inference-header-content-length", String(enc.headerLength))
        .header("content-type", "application/octet-stream");
    } else {
      reply.header("content-type", "application/json");
    }
    await reply.code(200).send(enc.body);
    // Tensor requests carry no study: the case id is the sidecar's own request id (a UUID), never the client's id.
    this.emitRecord(req, inputStats && { caseId: req.id, inputs: inputStats, predictions: itemPredictions });
  }

  private async inferDicom(
    req: FastifyRequest,
    reply: FastifyReply,
    body: Buffer,
    contentType: string,
    started: number,
  ): Promise<void> {
    const model = this.model as LoadedModel;
    const input = pickDicomInput(model.signature);
    let dicomCase: DicomCase;
    let instances: Uint8Array[];
    const seen: { patient?: string } = {};
    try {
      instances = await this.gate(splitDicomBody(body, contentType), this.cfg.monitor ? seen : undefined);
      dicomCase = await dicomPartsToTensor(instances, input, this.cfg.dicomLimits);
    } catch (e) {
      if (e instanceof SidecarError) throw e;
      throw new SidecarError(
        "INVALID_DICOM",
        `could not read the DICOM input: ${(e as Error).message.slice(0, 200)}`,
      );
    }
    this.metrics.observePreprocess("dicom", (performance.now() - started) / 1000);
    const inputs = new Map([[input.name, dicomCase.tensor]]);
    assertFinite("input", inputs);
    const inputStats = this.recordInputs(inputs);
    const batchable = isBatchable(model.signature);
    let outputs: Map<string, Tensor>;
    if (batchable || dicomCase.tensor.shape[0] === 1 || input.shape.length < 4) {
      outputs = await this.submit(inputs);
    } else {
      fail(
        "SHAPE_MISMATCH",
        `the model takes one image per request (input "${input.name}" shape [${input.shape}]); send one instance, got ${dicomCase.tensor.shape[0]}`,
      );
    }
    assertFinite("output", outputs);
    const itemPredictions = this.recordPredictions(model.signature, outputs);
    const answer = model.signature.outputs.map((spec) => {
      const t = outputs.get(spec.name) as Tensor;
      const numeric = !Array.isArray(t.data);
      const data = numeric
        ? activate(spec.activation, t.data as ArrayLike<number>, t.shape)
        : (t.data as string[]);
      return {
        name: spec.name,
        datatype: spec.activation === "none" ? t.datatype : "FP32",
        shape: t.shape,
        activation: spec.activation,
        data,
        ...(numeric && t.shape.length <= 2
          ? { predictions: predictions(spec, data as number[], t.shape) }
          : {}),
      };
    });
    const id =
      dicomCase.studyInstanceUid && this.cfg.caseIdKey
        ? caseId(this.cfg.caseIdKey, dicomCase.studyInstanceUid)
        : null;
    if (this.cfg.keepDir && id) {
      // Keeping is best effort: a full disk must not fail the clinical answer.
      await keepCase(this.cfg.keepDir, id, req.id, instances).catch((e: NodeJS.ErrnoException) =>
        req.log.warn({ code: e.code }, "could not keep case"),
      );
    }
    await reply.code(200).send({
      model_name: this.cfg.modelName,
      model_version: this.cfg.modelVersion,
      model_sha256: model.sha256,
      id: req.id,
      case_id: id,
      deid_mode: this.cfg.deid?.mode ?? "ModelToData",
      instances: dicomCase.instances,
      outputs: answer,
    });
    if (inputStats) {
      this.emitRecord(req, {
        caseId: id ?? req.id,
        patient: this.patientPseudonym(dicomCase, seen),
        metadata: dicomCase.dataSet ? monitorMetadata(dicomCase.dataSet) : undefined,
        inputs: inputStats,
        predictions: itemPredictions,
      });
    }
  }

  /**
   * The record's patient pseudonym: only when the DICOM had a Patient ID and the de-identification key is
   * mounted. DataToModel: the gate's pseudonym of the original Patient ID (the instance we read is already
   * de-identified). ModelToData: HMAC of the header's Patient ID under the mounted key.
   */
  private patientPseudonym(dicomCase: DicomCase, seen: { patient?: string }): string | undefined {
    if (this.cfg.deid?.mode === "DataToModel") return seen.patient;
    const key = this.cfg.monitor?.pseudonymKey;
    const pid = key && dicomCase.dataSet ? patientIdOf(dicomCase.dataSet) : undefined;
    return key && pid ? patientPseudonym(key, pid) : undefined;
  }
}

/** Retry-After on 503 DEID_BUSY: about two detector runs. */
const DEID_RETRY_AFTER_S = 1;

const earlyKey = Symbol("early parse");
type EarlyParsed = FastifyRequest & { [earlyKey]?: EarlyParse };

/** A header holding a non-negative integer, or undefined (absent or malformed: validated where it is used). */
function headerInt(v: string | string[] | undefined): number | undefined {
  if (typeof v !== "string" || !/^\d{1,15}$/.test(v.trim())) return undefined;
  return Number(v);
}
