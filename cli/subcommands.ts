/**
 * The subcommands of the one `medmlops` binary. Each is loaded lazily so that `medmlops deid` does not
 * pay for onnxruntime or the Kubernetes client, and each returns its process exit code.
 */
export interface Subcommand {
  name: string;
  summary: string;
  run: (argv: string[]) => Promise<number>;
}

export const subcommands: Subcommand[] = [
  {
    name: "operator",
    summary:
      "run the control plane: informers, work queues and the controllers (`operator --help` lists them)",
    run: async (argv) => (await import("../operator/cli.ts")).main(argv),
  },
  {
    name: "sidecar",
    summary: "serve one ONNX model over the Open Inference Protocol v2 (JSON, binary tensors, DICOM)",
    run: async (argv) => (await import("../inference-sidecar/cli.ts")).main(argv),
  },
  {
    name: "monitor",
    summary: "the validation ledger and drift engine (records, annotations, references, policies, consent)",
    run: async (argv) => (await import("../monitor/cli.ts")).main(argv),
  },
  {
    name: "deid",
    summary: "de-identify DICOM files (PS3.15 Basic profile and options), verify a result",
    run: async (argv) => (await import("../deid/cli.ts")).main(argv),
  },
  {
    name: "fetch-model",
    summary:
      "init container: fetch a model (pvc://, configmap://, https://) and refuse it unless its sha256 matches",
    run: async (argv) => (await import("../operator/fetch/cli.ts")).main(argv),
  },
  {
    name: "crds",
    summary: "print the CustomResourceDefinitions (YAML) for kubectl apply",
    run: async (argv) => (await import("../crds/cli.ts")).main(argv),
  },
  {
    name: "audit",
    summary: "verify the governance audit log's hash chain, export it as JSON lines for a review",
    run: async (argv) => (await import("../monitor/audit/cli.ts")).main(argv),
  },
  {
    name: "dataset",
    summary:
      "dataset materialize: fetch a frozen retraining split from the monitor, de-identified again (init container)",
    run: async (argv) => (await import("../retrain/cli.ts")).datasetMain(argv),
  },
  {
    name: "evaluate",
    summary:
      "run a candidate and its base ONNX model on a sequestered split; per-site metrics with intervals",
    run: async (argv) => (await import("../retrain/cli.ts")).evaluateMain(argv),
  },
];
