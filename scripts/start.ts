/**
 * `npm start`: the best local run the project has, end to end on this machine.
 *
 *  1. brings up the real Kubernetes control plane from test/cluster (builds it on first use),
 *  2. installs the CRDs and starts the operator against it,
 *  3. applies examples/ and shows what the operator made of them (Deployments, Services, status),
 *  4. sends a synthetic DICOM image through a MedModel's Service to its sidecar in a real pod on the real node
 *     real-0 when this machine can run it (scripts/tour/real-node.ts); else starts a real inference sidecar on a
 *     generated ONNX model directly and sends the image there.
 *  5. the governance loop (scripts/tour/governance.ts): a real monitor (the operator runs with --monitor-url),
 *     drift, a breach, the failover and its alerts, a RetrainJob, the audit trail.
 *
 * Pods on the kwok nodes are simulated (containers do not run there). With --once (or CI=true) it exits after the tour; otherwise it keeps the operator and
 * sidecar running until Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kubectl, kubectlOk, waitFor } from "../test/cluster/client.ts";
import { up } from "../test/cluster/launcher.ts";
import { ctPhantom, writeDicom } from "../inference-sidecar/testing/dicom.ts";
import { cnnCtSignature, writeModel } from "../inference-sidecar/testing/models.ts";
import { governanceTour, startTourMonitor, type TourMonitor } from "./tour/governance.ts";
import { realNodeTour } from "./tour/real-node.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const demoDir = join(root, ".medmlops", "demo");
const bin = join(root, "bin", "medmlops.js");
const once = process.argv.includes("--once") || process.env.CI === "true";
const SIDECAR_PORT = Number(process.env.MEDMLOPS_DEMO_PORT ?? 8090);
const OPERATOR_METRICS_PORT = Number(process.env.MEDMLOPS_DEMO_METRICS_PORT ?? 8091);
const MONITOR_PORT = Number(process.env.MEDMLOPS_DEMO_MONITOR_PORT ?? 8092);
const PROMETHEUS_PORT = Number(process.env.MEDMLOPS_DEMO_PROMETHEUS_PORT ?? 8093);
const SIDECAR_METRICS_PORT = Number(process.env.MEDMLOPS_DEMO_SIDECAR_METRICS_PORT ?? 8094);
const MONITOR_METRICS_PORT = Number(process.env.MEDMLOPS_DEMO_MONITOR_METRICS_PORT ?? 8095);
const children: ChildProcess[] = [];

function say(line: string): void {
  process.stdout.write(`\n== ${line}\n`);
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const log = openSync(join(demoDir, `${name}.log`), "a");
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", log, log],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** A hostPath volume pre-bound to the examples' `radiology/models` claim, for this single-machine cluster only. */
function localModelVolume(): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "medmlops-demo-models", labels: { "app.kubernetes.io/part-of": "medmlops" } },
    spec: {
      capacity: { storage: "20Gi" },
      accessModes: ["ReadOnlyMany"],
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: join(demoDir, "models"), type: "DirectoryOrCreate" },
      claimRef: { namespace: "radiology", name: "models" },
    },
  };
}

async function controlPlaneTour(kubeconfig: string, monitor: TourMonitor): Promise<void> {
  say("installing the CRDs");
  // --force-conflicts: a cluster the tests (or an earlier tour) installed the CRDs into with another field manager.
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", join(root, "crds")]);
  await kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "-f", join(root, "crds")]);

  say(`starting the operator (log: .medmlops/demo/operator.log, metrics :${OPERATOR_METRICS_PORT})`);
  startChild("operator", [
    "operator",
    "--kubeconfig",
    kubeconfig,
    "--metrics-port",
    String(OPERATOR_METRICS_PORT),
    ...monitor.operatorArgs,
  ]);
  await waitFor(() => httpOk(`http://127.0.0.1:${OPERATOR_METRICS_PORT}/readyz`), 60_000);

  say(
    "a local PersistentVolume for the examples' model store (a hospital's storage team provides the real one)",
  );
  // A volume left Released by an earlier tour (its claim was deleted) still names the old claim's uid and would
  // never bind again: recreate it (Retain: the files stay on disk).
  const phase = await kubectl(["get", "pv", "medmlops-demo-models", "-o", "jsonpath={.status.phase}"]);
  if (phase.code === 0 && phase.stdout.trim() === "Released") {
    await kubectlOk(["delete", "pv", "medmlops-demo-models", "--wait=true", "--timeout=60s"]);
  }
  await kubectlOk(["apply", "-f", "-"], JSON.stringify(localModelVolume()));

  say(
    "the per-hospital de-identification and case-id key Secrets (random here; examples/00-namespace.yaml says how to make yours)",
  );
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "radiology" } }),
  );
  // Two keys, one purpose each (docs/security.md): de-identification pseudonyms and case ids.
  for (const name of ["medmlops-deid-key", "medmlops-case-id-key"]) {
    const hasKey = await kubectl(["-n", "radiology", "get", "secret", name]);
    if (hasKey.code === 0) continue;
    // Through stdin, never the command line, so the key cannot end up in an error message or `ps`.
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: "radiology" },
      stringData: { "hmac-key": randomBytes(32).toString("hex") },
    };
    await kubectlOk(["create", "-f", "-"], JSON.stringify(secret));
  }

  say("kubectl apply -f examples/");
  process.stdout.write(await kubectlOk(["apply", "-f", join(root, "examples")]));
  say(
    "waiting for MedModel cxr-triage to become Ready (kwok marks the pods Ready; containers do not run here)",
  );
  await waitFor(async () => {
    const out = await kubectlOk(["-n", "radiology", "get", "medmodel", "cxr-triage", "-o", "json"]);
    const ready = JSON.parse(out).status?.conditions?.find((c: { type: string }) => c.type === "Ready");
    return ready?.status === "True";
  }, 120_000);
  say("kubectl get medmlops,deployments,services -n radiology");
  process.stdout.write(await kubectlOk(["-n", "radiology", "get", "medmlops,deployments,services"]));
}

async function dataPlaneTour(): Promise<void> {
  const model = writeModel(demoDir, "cnn");
  const signature = join(demoDir, "signature.json");
  writeFileSync(signature, JSON.stringify(cnnCtSignature));
  say(`starting an inference sidecar on :${SIDECAR_PORT} (log: .medmlops/demo/sidecar.log)`);
  startChild("sidecar", [
    "sidecar",
    "--model",
    model,
    "--name",
    "demo-ct",
    "--version",
    "v1",
    "--signature",
    signature,
    "--port",
    String(SIDECAR_PORT),
    "--metrics-port",
    String(SIDECAR_METRICS_PORT),
    "--host",
    "127.0.0.1",
  ]);
  await waitFor(() => httpOk(`http://127.0.0.1:${SIDECAR_PORT}/v2/health/ready`), 60_000);

  say("POST a synthetic CT slice as application/dicom");
  const dicom = writeDicom({
    rows: 64,
    columns: 64,
    pixels: ctPhantom(64, 64),
    studyInstanceUid: "2.25.1234",
  });
  const res = await fetch(`http://127.0.0.1:${SIDECAR_PORT}/v2/models/demo-ct/infer`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: Buffer.from(dicom),
  });
  process.stdout.write(`${res.status} ${JSON.stringify(await res.json(), null, 2)}\n`);
  if (!res.ok) throw new Error(`sidecar answered ${res.status}`);
}

async function main(): Promise<number> {
  mkdirSync(demoDir, { recursive: true });
  process.on("SIGINT", () => {
    stopAll();
    process.exit(130);
  });
  say("bringing up the local control plane (first run builds Kubernetes from source: many minutes)");
  const { kubeconfig } = await up({ log: (line: string) => process.stdout.write(`   ${line}\n`) });
  process.stdout.write(`   KUBECONFIG=${kubeconfig}\n`);
  const io = { say, out: (t: string) => process.stdout.write(t) };
  const monitor = await startTourMonitor(io, demoDir, MONITOR_PORT, MONITOR_METRICS_PORT);
  children.push(monitor.process);
  await controlPlaneTour(kubeconfig, monitor);
  if (!(await realNodeTour({ say, out: (t) => process.stdout.write(t) }, join(demoDir, "models"))))
    await dataPlaneTour();
  await governanceTour(io, {
    monitor,
    demoDir,
    operatorMetricsPort: OPERATOR_METRICS_PORT,
    prometheusPort: PROMETHEUS_PORT,
  });
  if (once) {
    say("done (--once): stopping the operator and the sidecar; `npm run cluster:down` stops the cluster");
    stopAll();
    return 0;
  }
  say(`running. Try: KUBECONFIG=${kubeconfig} kubectl get medmlops -A   — Ctrl-C to stop`);
  await new Promise(() => {});
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`start: ${err instanceof Error ? err.message : String(err)}\n`);
    stopAll();
    process.exit(1);
  },
);
