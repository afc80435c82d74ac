// The Helm chart as the real API server sees it: `helm template` renders, every object passes a server-side
// dry run, and once installed the operator's ServiceAccount can do exactly what the operator needs and no more.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type FreshNamespace, freshNamespace, helm, kubectl, kubectlOk } from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";

const chart = join(repoRoot, "charts", "medmlops");

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read at arbitrary paths
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any };

let kubeVersion = "";

/** Offline `helm template` assumes Kubernetes 1.20; render for the server's real version (Chart.yaml needs 1.30+). */
async function render(release: string, namespace: string, ...extra: string[]) {
  if (kubeVersion === "") {
    const v = JSON.parse(await kubectlOk(["version", "-o", "json"])) as {
      serverVersion: { gitVersion: string };
    };
    kubeVersion = v.serverVersion.gitVersion;
  }
  return helm([
    "template",
    release,
    chart,
    "--namespace",
    namespace,
    "--kube-version",
    kubeVersion,
    ...extra,
  ]);
}

/** Renders and expects success; returns the manifests. */
async function template(release: string, namespace: string, ...extra: string[]): Promise<string> {
  const r = await render(release, namespace, ...extra);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const objects = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);

describe("Helm chart on the real API server", () => {
  let ns: FreshNamespace;
  const release = `mm-${Math.random().toString(16).slice(2, 8)}`;
  let rendered = "";

  beforeAll(async () => {
    ns = await freshNamespace("chart");
    rendered = await template(release, ns.name);
  });
  afterAll(async () => {
    await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], rendered);
    await ns?.delete();
  });

  it("passes helm lint", async () => {
    const r = await helm(["lint", chart, "--strict"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("renders the operator Deployment, RBAC, ServiceAccount and metrics Service", () => {
    const kinds = objects(rendered)
      .map((o) => o.kind)
      .sort();
    expect(kinds).toEqual(["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]);
    const deploy = objects(rendered).find((o) => o.kind === "Deployment")!;
    const container = deploy.spec.template.spec.containers[0];
    expect(container.args).toEqual(["operator", "--leader-elect", "--metrics-port", "8081"]);
    expect(deploy.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it("every object (and the CRDs) passes a server-side dry run", async () => {
    const withCrds = await template(release, ns.name, "--include-crds");
    const r = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-f", "-"], withCrds);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployment.apps\/.*-operator (created|configured) \(server dry run\)/);
  });

  it("grants the operator exactly what it needs once installed", async () => {
    await kubectlOk(["apply", "--server-side", "-f", "-"], rendered);
    const sa = `system:serviceaccount:${ns.name}:${release}-medmlops`;
    const can = async (verb: string, resource: string, namespace = ns.name) => {
      const r = await kubectl(["auth", "can-i", verb, resource, "-n", namespace, `--as=${sa}`]);
      return r.stdout.trim() === "yes";
    };
    for (const [verb, resource] of [
      ["watch", "medmodels.medmlops.io"],
      ["patch", "medmodels.medmlops.io/status"],
      ["update", "retrainjobs.medmlops.io/finalizers"],
      ["create", "retrainjobs.medmlops.io"],
      ["patch", "deployments.apps"],
      ["delete", "services"],
      ["patch", "configmaps"],
      ["create", "jobs.batch"],
      ["list", "pods"],
      ["create", "events.events.k8s.io"],
      ["update", "leases.coordination.k8s.io"],
      ["patch", "httproutes.gateway.networking.k8s.io"],
    ]) {
      expect(await can(verb!, resource!), `${verb} ${resource}`).toBe(true);
    }
    for (const [verb, resource] of [
      ["get", "secrets"],
      ["delete", "medmodels.medmlops.io"],
      ["delete", "pods"],
      ["create", "pods"],
      ["create", "clusterroles.rbac.authorization.k8s.io"],
      ["delete", "leases.coordination.k8s.io"],
    ]) {
      expect(await can(verb!, resource!), `must not ${verb} ${resource}`).toBe(false);
    }
  });

  it("refuses bad values before anything reaches the cluster", async () => {
    const typo = await render(release, ns.name, "--set", "operator.replica=3");
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/additional properties 'replica' not allowed/);
    const twoLeaders = await render(release, ns.name, "--set", "operator.leaderElection.enabled=false");
    expect(twoLeaders.code).not.toBe(0);
    expect(twoLeaders.stderr).toMatch(/needs operator.leaderElection.enabled/);
  });

  it("renders ServiceMonitor and PrometheusRule only when enabled", async () => {
    const on = await template(
      release,
      ns.name,
      "--set",
      "metrics.serviceMonitor.enabled=true",
      "--set",
      "metrics.prometheusRule.enabled=true",
      "--set",
      "operator.watchNamespaces={radiology,oncology}",
    );
    const kinds = objects(on).map((o) => o.kind);
    expect(kinds).toContain("ServiceMonitor");
    expect(kinds).toContain("PrometheusRule");
    const env = objects(on).find((o) => o.kind === "Deployment")!.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "MEDMLOPS_WATCH_NAMESPACES", value: "radiology,oncology" });
  });
});
