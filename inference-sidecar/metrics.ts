/**
 * Prometheus metrics on the sidecar's own Registry. Labels are bounded: model and version are fixed per
 * process, status is an HTTP code, protocol one of three, input/output names and labels come from the
 * signature (capped), never from requests. Nothing from a DICOM header reaches a label.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { InputSummary } from "./input-stats.ts";
import type { Signature } from "./signature.ts";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Max distinct prediction labels per output kept as label values; more than that collapse into "other". */
const MAX_LABELS = 64;
export const MODEL_STATES = ["loading", "ready", "failed", "suspended", "draining"] as const;
export type ModelState = (typeof MODEL_STATES)[number];

export class SidecarMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"model" | "version" | "protocol" | "status">;
  readonly deidChecks: Counter<"model" | "version" | "event">;
  readonly queue: Histogram<"model" | "version">;
  readonly preprocess: Histogram<"model" | "version" | "protocol">;
  readonly inference: Histogram<"model" | "version">;
  readonly total: Histogram<"model" | "version" | "protocol">;
  readonly batchSize: Histogram<"model" | "version">;
  readonly inflight: Gauge<"model" | "version">;
  readonly state: Gauge<"model" | "version" | "state">;
  readonly provider: Gauge<"model" | "version" | "provider">;
  readonly predictions: Counter<"model" | "version" | "output" | "label">;
  readonly decisions: Counter<"model" | "version" | "output" | "decision">;
  readonly inputMean: Histogram<"model" | "version" | "input">;
  readonly inputStd: Histogram<"model" | "version" | "input">;
  private readonly base: { model: string; version: string };
  private readonly knownLabels = new Map<string, Set<string>>();
  private readonly knownInputs: Set<string>;

  constructor(model: string, version: string, signature?: Signature, registry: Registry = new Registry()) {
    this.registry = registry;
    this.base = { model, version };
    const r = [this.registry];
    this.requests = new Counter({
      name: "medmlops_sidecar_requests_total",
      help: "Inference requests by outcome (HTTP status)",
      labelNames: ["model", "version", "protocol", "status"],
      registers: r,
    });
    this.deidChecks = new Counter({
      name: "medmlops_sidecar_deid_text_check_total",
      help: "DataToModel burned-in text check: frames run through the detector (re-checks included), images redacted, images refused",
      labelNames: ["model", "version", "event"],
      registers: r,
    });
    this.queue = new Histogram({
      name: "medmlops_sidecar_queue_seconds",
      help: "Time a request waited for its batch",
      labelNames: ["model", "version"],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.preprocess = new Histogram({
      name: "medmlops_sidecar_preprocess_seconds",
      help: "Request decoding: JSON/binary tensors or DICOM to tensor",
      labelNames: ["model", "version", "protocol"],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.inference = new Histogram({
      name: "medmlops_sidecar_inference_seconds",
      help: "onnxruntime session.run per batch",
      labelNames: ["model", "version"],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.total = new Histogram({
      name: "medmlops_sidecar_request_duration_seconds",
      help: "Whole infer request, body received to answer",
      labelNames: ["model", "version", "protocol"],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.batchSize = new Histogram({
      name: "medmlops_sidecar_batch_size",
      help: "Items per onnxruntime run",
      labelNames: ["model", "version"],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: r,
    });
    this.inflight = new Gauge({
      name: "medmlops_sidecar_inflight_requests",
      help: "Infer requests being handled",
      labelNames: ["model", "version"],
      registers: r,
    });
    this.state = new Gauge({
      name: "medmlops_sidecar_model_state",
      help: "1 for the model's current state",
      labelNames: ["model", "version", "state"],
      registers: r,
    });
    this.provider = new Gauge({
      name: "medmlops_sidecar_execution_provider_info",
      help: "1 for the execution provider in use",
      labelNames: ["model", "version", "provider"],
      registers: r,
    });
    this.predictions = new Counter({
      name: "medmlops_sidecar_predictions_total",
      help: "Top predicted label per item",
      labelNames: ["model", "version", "output", "label"],
      registers: r,
    });
    this.decisions = new Counter({
      name: "medmlops_sidecar_decisions_total",
      help: "Operating-point decisions per item",
      labelNames: ["model", "version", "output", "decision"],
      registers: r,
    });
    this.inputMean = new Histogram({
      name: "medmlops_sidecar_input_mean",
      help: "Per-request mean of each numeric input (drift monitoring)",
      labelNames: ["model", "version", "input"],
      buckets: [-1000, -100, -10, -3, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 3, 10, 100, 1000],
      registers: r,
    });
    this.inputStd = new Histogram({
      name: "medmlops_sidecar_input_std",
      help: "Per-request standard deviation of each numeric input (drift monitoring)",
      labelNames: ["model", "version", "input"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 100, 1000],
      registers: r,
    });
    this.knownInputs = new Set(signature?.inputs.map((i) => i.name) ?? []);
    for (const o of signature?.outputs ?? []) this.knownLabels.set(o.name, new Set(o.labels ?? []));
    this.inflight.set(this.base, 0);
    this.setState("loading");
  }

  setSignature(signature: Signature): void {
    for (const i of signature.inputs) this.knownInputs.add(i.name);
    for (const o of signature.outputs) this.knownLabels.set(o.name, new Set(o.labels ?? []));
  }

  setState(state: ModelState): void {
    for (const s of MODEL_STATES) this.state.set({ ...this.base, state: s }, s === state ? 1 : 0);
  }

  setProvider(provider: string): void {
    this.provider.set({ ...this.base, provider }, 1);
  }

  deidCheck(event: "frame_checked" | "redacted" | "refused"): void {
    this.deidChecks.inc({ ...this.base, event });
  }

  request(protocol: string, status: number, seconds?: number): void {
    this.requests.inc({ ...this.base, protocol, status: String(status) });
    if (seconds !== undefined) this.total.observe({ ...this.base, protocol }, seconds);
  }

  observePreprocess(protocol: string, seconds: number): void {
    this.preprocess.observe({ ...this.base, protocol }, seconds);
  }

  observeBatch(items: number, queueMs: number[]): void {
    this.batchSize.observe(this.base, items);
    for (const q of queueMs) this.queue.observe(this.base, q / 1000);
  }

  observeInference(seconds: number): void {
    this.inference.observe(this.base, seconds);
  }

  incInflight(delta: number): void {
    this.inflight.inc(this.base, delta);
  }

  prediction(output: string, label: string, decision?: boolean): void {
    let labels = this.knownLabels.get(output);
    if (!labels) return;
    if (!labels.has(label)) {
      if (labels.size >= MAX_LABELS) label = "other";
      else labels = labels.add(label);
    }
    this.predictions.inc({ ...this.base, output, label });
    if (decision !== undefined)
      this.decisions.inc({ ...this.base, output, decision: decision ? "positive" : "negative" });
  }

  /** Observes a numeric input's per-request mean and std (computed once in input-stats.ts, shared with the monitor). */
  inputStats(input: string, summary: InputSummary): void {
    if (!this.knownInputs.has(input)) return;
    this.inputMean.observe({ ...this.base, input }, summary.mean);
    this.inputStd.observe({ ...this.base, input }, summary.std);
  }
}
