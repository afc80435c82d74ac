// The Helm chart as the real API server sees it: `helm template` renders, every object passes a server-side
// dry run, and once installed the operator's ServiceAccount can do exactly what the operator needs and no more.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type FreshNamespace, freshNamespace, helm, kubectl, kubectlOk, waitFor } from "../cluster/client.ts";
import { repoRoot } from "../cluster/paths.ts";
import { installCertManagerCrds } from "../cluster/cert-manager.ts";
import { installGatewayApiCrds } from "../cluster/gateway-api.ts";
import { installCrds, medModelManifest } from "./medmodel-support.ts";

const chart = join(repoRoot, "charts", "medmlops");
// A discovery cache of our own: the shared ~/.kube/cache, written by every engineer's kubectl at once, was seen
// stale for tens of seconds ("the server doesn't have a resource type 'medmodels'"), turning can-i answers to no.
const cacheDir = `--cache-dir=${mkdtempSync(join(tmpdir(), "chart-test-kube-cache-"))}`;

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read at arbitrary paths
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any };

let kubeVersion = "";

/**
 * Offline `helm template` assumes Kubernetes 1.20; render for the server's real version (Chart.yaml needs 1.30+),
 * and declare cert-manager's API as the server serves it (beforeAll installs its CRDs): the chart's default
 * modelServing.tls.mode refuses to render without it.
 */
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
    "--api-versions",
    "cert-manager.io/v1",
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

// The rights checks name medmlops.io kinds and HTTPRoutes, which kubectl must resolve through discovery: on a fresh
// cluster (this file may run first) install both CRD sets here instead of relying on an earlier suite.
beforeAll(async () => {
  await installCrds();
  await installGatewayApiCrds();
  // The default chart serves models over HTTPS with cert-manager: its CRDs (no controller) and the namespace the
  // chart's CA Certificate goes to (modelServing.tls.certManager.clusterResourceNamespace).
  await installCertManagerCrds();
  await kubectl(["create", "namespace", "cert-manager"]);
}, 400_000);

describe("Helm chart on the real API server", () => {
  let ns: FreshNamespace;
  const release = `mm-${Math.random().toString(16).slice(2, 8)}`;
  let rendered = "";

  beforeAll(async () => {
    ns = await freshNamespace("chart");
    // The admission policy is cluster-scoped without watchNamespaces: the shared cluster must not get it (its
    // own describe below binds it to a test namespace).
    rendered = await template(release, ns.name, "--set", "admission.enabled=false");
  });
  afterAll(async () => {
    await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], rendered);
    await ns?.delete();
  });

  it("passes helm lint", async () => {
    // `helm lint` cannot declare API versions, but in lint mode a template's `fail` (here: no cert-manager.io/v1)
    // is logged, not fatal, so the default is linted as it is.
    const r = await helm(["lint", chart, "--strict"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("renders the operator Deployment, RBAC, ServiceAccount and metrics Service", () => {
    const kinds = objects(rendered)
      .map((o) => o.kind)
      .sort();
    expect(kinds).toEqual([
      "Certificate", // the models' CA (modelServing.tls.mode cert-manager)
      "ClusterIssuer", // self-signed root
      "ClusterIssuer", // the models' CA issuer the operator names
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Deployment", // the monitor
      "NetworkPolicy", // the monitor's
      "NetworkPolicy", // the operator's metrics
      "PersistentVolumeClaim", // the monitor's embedded storage
      "Role",
      "RoleBinding",
      "Secret", // the monitor's certificate (monitor.tls.mode helm)
      "Service",
      "Service", // the monitor
      "ServiceAccount",
    ]);
    const deploy = objects(rendered).find(
      (o) => o.kind === "Deployment" && o.metadata.name.endsWith("-operator"),
    )!;
    const container = deploy.spec.template.spec.containers[0];
    expect(container.args).toEqual(["operator", "--leader-elect", "--metrics-port", "8081"]);
    expect(deploy.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it("deploys the monitor on a PVC by default and hands its Service URL to the operator", () => {
    const all = objects(rendered);
    const monitor = all.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-monitor"))!;
    const pod = monitor.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].args).toEqual([
      ...["monitor", "--port", "8090", "--metrics-port", "9091", "--data-dir", "/data/pglite"],
      ...["--tls-cert", "/etc/medmlops/tls/tls.crt", "--tls-key", "/etc/medmlops/tls/tls.key"],
    ]);
    expect(monitor.spec.strategy).toEqual({ type: "Recreate" });
    const claim = all.find((o) => o.kind === "PersistentVolumeClaim")!;
    expect(pod.volumes).toContainEqual({
      name: "data",
      persistentVolumeClaim: { claimName: claim.metadata.name },
    });
    const service = all.find((o) => o.kind === "Service" && o.metadata.name === monitor.metadata.name)!;
    const operator = all.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-operator"))!;
    expect(operator.spec.template.spec.containers[0].env).toContainEqual({
      name: "MEDMLOPS_MONITOR_URL",
      value: `https://${service.metadata.name}.${ns.name}.svc:8090`,
    });
  });

  it("takes an external PostgreSQL URL from a Secret instead of a PVC, and refuses unsafe monitor settings", async () => {
    const pg = objects(
      await template(
        release,
        ns.name,
        "--set",
        "monitor.storage.type=postgres",
        "--set",
        "monitor.storage.postgres.urlSecret.name=monitor-db",
        "--set",
        "monitor.replicas=2",
      ),
    );
    expect(pg.map((o) => o.kind)).not.toContain("PersistentVolumeClaim");
    const monitor = pg.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-monitor"))!;
    const c = monitor.spec.template.spec.containers[0];
    expect(c.args.slice(0, 3)).toEqual(["monitor", "--port", "8090"]);
    expect(c.env).toContainEqual({
      name: "MEDMLOPS_DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "monitor-db", key: "url" } },
    });
    const noSecret = await render(release, ns.name, "--set", "monitor.storage.type=postgres");
    expect(noSecret.stderr).toMatch(/needs monitor.storage.postgres.urlSecret.name/);
    const twoWriters = await render(release, ns.name, "--set", "monitor.replicas=2");
    expect(twoWriters.stderr).toMatch(/embedded storage has a single writer/);
    const off = objects(await template(release, ns.name, "--set", "monitor.enabled=false"));
    const operator = off.find((o) => o.kind === "Deployment")!;
    expect(operator.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain(
      "MEDMLOPS_MONITOR_URL",
    );
  });

  it("every object (and the CRDs) passes a server-side dry run", async () => {
    const withCrds = await template(release, ns.name, "--include-crds");
    const r = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-f", "-"], withCrds);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployment.apps\/.*-operator (created|configured) \(server dry run\)/);
    // The models' CA chain (modelServing.tls.mode cert-manager) against cert-manager's own CRDs.
    expect(r.stdout).toMatch(
      /clusterissuer.cert-manager.io\/.*-serving-selfsigned (created|configured) \(server dry run\)/,
    );
    expect(r.stdout).toMatch(
      /certificate.cert-manager.io\/.*-serving-ca (created|configured) \(server dry run\)/,
    );
    expect(r.stdout).toMatch(
      /clusterissuer.cert-manager.io\/.*-serving-ca (created|configured) \(server dry run\)/,
    );
  });

  it("grants the operator exactly what it needs once installed", async () => {
    await kubectlOk(["apply", "--server-side", "-f", "-"], rendered);
    const sa = `system:serviceaccount:${ns.name}:${release}-medmlops`;
    const can = async (verb: string, resource: string, namespace = ns.name) => {
      // "kind/sub" is a subresource (`kubectl auth can-i verb kind/x` would ask about an object named x).
      const [kind, sub] = resource.split("/");
      const args = ["auth", "can-i", verb, kind!, ...(sub ? [`--subresource=${sub}`] : [])];
      const r = await kubectl([...args, "-n", namespace, `--as=${sa}`, cacheDir]);
      return r.stdout.trim() === "yes";
    };
    // The authorizer sees new bindings through its informers: wait until the first right is visible.
    await waitFor(() => can("watch", "medmodels.medmlops.io"), 60_000);
    for (const [verb, resource] of [
      ["watch", "medmodels.medmlops.io"],
      ["patch", "medmodels.medmlops.io/status"],
      ["update", "retrainjobs.medmlops.io/finalizers"],
      ["create", "retrainjobs.medmlops.io"],
      ["patch", "deployments.apps"],
      ["delete", "services"],
      ["patch", "configmaps"],
      ["watch", "poddisruptionbudgets.policy"],
      ["patch", "poddisruptionbudgets.policy"],
      ["delete", "poddisruptionbudgets.policy"],
      ["list", "pods"],
      ["create", "events.events.k8s.io"],
      ["update", "leases.coordination.k8s.io"],
      ["patch", "httproutes.gateway.networking.k8s.io"],
      ["create", "certificates.cert-manager.io"], // serving TLS by default: a Certificate per MedModel
      ["watch", "certificates.cert-manager.io"],
      ["delete", "certificates.cert-manager.io"],
    ]) {
      expect(await can(verb!, resource!), `${verb} ${resource}`).toBe(true);
    }
    for (const [verb, resource] of [
      ["create", "jobs.batch"], // only with operator.retrainJobController.enabled
      ["update", "deployments.apps"], // server-side apply is a PATCH; nothing is PUT
      ["update", "poddisruptionbudgets.policy"],
      ["update", "medmodels.medmlops.io/status"],
      ["get", "secrets"],
      ["delete", "medmodels.medmlops.io"],
      ["delete", "pods"],
      ["create", "pods"],
      ["create", "clusterroles.rbac.authorization.k8s.io"],
      ["update", "certificates.cert-manager.io"],
      ["create", "clusterissuers.cert-manager.io"],
      ["delete", "leases.coordination.k8s.io"],
    ]) {
      expect(await can(verb!, resource!), `must not ${verb} ${resource}`).toBe(false);
    }
    // The Lease only in the release namespace.
    expect(await can("update", "leases.coordination.k8s.io", "default")).toBe(false);
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

/** `kubectl auth can-i --list` as `user` in `namespace`: resource → verbs (only rows naming a resource). */
async function canList(user: string, namespace: string): Promise<Map<string, string[]>> {
  const out = await kubectlOk(["auth", "can-i", "--list", "-n", namespace, `--as=${user}`, cacheDir]);
  const rights = new Map<string, string[]>();
  for (const line of out.split("\n").slice(1)) {
    const m = /^(\S+)\s+\[[^\]]*\]\s+\[[^\]]*\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (m) rights.set(m[1]!, [...(rights.get(m[1]!) ?? []), ...m[2]!.split(" ").filter(Boolean)].sort());
  }
  return rights;
}

describe("the monitor's certificate (monitor.tls.mode helm) across upgrades", () => {
  let ns: FreshNamespace;
  const release = `mt-${Math.random().toString(16).slice(2, 8)}`;
  beforeAll(async () => {
    ns = await freshNamespace("chart-tls");
  });
  afterAll(async () => {
    await ns?.delete();
  });

  const secretOf = (yaml: string) =>
    objects(yaml).find((o) => o.kind === "Secret" && o.metadata.name.endsWith("-monitor-tls")) as Obj & {
      data: Record<string, string>;
    };
  const caAnnotation = (yaml: string) =>
    (objects(yaml).find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-operator")) as Obj).spec
      .template.metadata.annotations["medmlops.io/monitor-ca-sha256"];

  it("cert-manager mode: the Issuers and Certificates pass a server-side dry run against cert-manager's CRDs", async () => {
    await installCertManagerCrds();
    for (const extra of [
      [],
      [
        "--set",
        "monitor.tls.certManager.issuerRef.name=hospital-ca",
        "--set",
        "monitor.tls.certManager.issuerRef.kind=ClusterIssuer",
      ],
    ]) {
      const rendered = await template(release, ns.name, "--set", "monitor.tls.mode=cert-manager", ...extra);
      // the monitor's (the models' CA chain, modelServing.tls, is checked in the first describe's dry run)
      const cm = objects(rendered).filter(
        (o) => o.apiVersion === "cert-manager.io/v1" && !o.metadata.name.includes("-serving-"),
      );
      expect(cm.length).toBe(extra.length === 0 ? 4 : 1);
      const r = await kubectl(
        ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
        cm.map((o) => JSON.stringify(o)).join("\n"),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/certificate.cert-manager.io\/.*-monitor-tls created \(server dry run\)/);
    }
  }, 400_000);

  it("an upgrade (lookup of the installed Secret) keeps the CA and certificate; offline rendering cannot", async () => {
    const server = (...extra: string[]) => template(release, ns.name, "--dry-run=server", ...extra);
    const first = await server();
    const installed = secretOf(first);
    await kubectlOk(["apply", "--server-side", "-f", "-"], JSON.stringify(installed));
    const upgrade = await server();
    expect(secretOf(upgrade).data).toEqual(installed.data);
    expect(caAnnotation(upgrade)).toBe(caAnnotation(first));
    // `helm template` without the server (Argo CD) looks nothing up: a new CA every time, hence mode cert-manager
    // or secret there (charts/medmlops/README.md).
    const offline = await template(release, ns.name);
    expect(secretOf(offline).data["ca.crt"]).not.toBe(installed.data["ca.crt"]);
    // A deleted Secret is generated anew on the next upgrade, and the operator's pod template changes with it.
    await kubectlOk(["-n", ns.name, "delete", "secret", installed.metadata.name]);
    const renewed = await server();
    expect(secretOf(renewed).data["ca.crt"]).not.toBe(installed.data["ca.crt"]);
    expect(caAnnotation(renewed)).not.toBe(caAnnotation(first));
  });
});

describe("least privilege with watchNamespaces (kubectl auth can-i --list as the operator)", () => {
  const namespaces: FreshNamespace[] = [];
  const release = `mm-${Math.random().toString(16).slice(2, 8)}`;
  let home: string;
  let watched: string[];
  let other: string;
  let rendered = "";
  const sa = () => `system:serviceaccount:${home}:${release}-medmlops`;

  beforeAll(async () => {
    for (const p of ["chart-home", "chart-rad", "chart-onc", "chart-other"])
      namespaces.push(await freshNamespace(p));
    [home, watched, other] = [
      namespaces[0]!.name,
      [namespaces[1]!.name, namespaces[2]!.name],
      namespaces[3]!.name,
    ];
    rendered = await template(release, home, "--set", `operator.watchNamespaces={${watched.join(",")}}`);
    await kubectlOk(["apply", "--server-side", "-f", "-"], rendered);
  });
  afterAll(async () => {
    await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], rendered);
    for (const n of namespaces) await n.delete();
  });

  it("renders NetworkPolicies: models per watched namespace, the monitor's API only from its callers, its metrics only from monitoring", () => {
    const policies = objects(rendered).filter((o) => o.kind === "NetworkPolicy");
    const models = policies.filter((o) => o.metadata.name.endsWith("-models"));
    expect(models.map((o) => o.metadata.namespace).sort()).toEqual([...watched].sort());
    // The metrics port from the monitoring namespace only; no inference rule, since no caller is listed (the
    // rules in detail: test/unit/chart-networkpolicy.test.ts).
    expect(models[0]!.spec.ingress).toEqual([
      {
        ports: [{ port: 9090, protocol: "TCP" }],
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
      },
    ]);
    // (the monitor's rules against the pods the operator builds: test/unit/chart-networkpolicy.test.ts)
    const monitor = policies.find((o) => o.metadata.name.endsWith("-monitor"))!;
    expect(monitor.spec.ingress.map((r: { ports: { port: number }[] }) => r.ports[0]!.port)).toEqual([
      8090, 9091,
    ]);
    const [api, metrics] = monitor.spec.ingress;
    expect(api.from[0].podSelector.matchLabels["app.kubernetes.io/component"]).toBe("operator");
    for (const peer of api.from.slice(1))
      expect(peer.namespaceSelector.matchExpressions[0].values.sort()).toEqual([...watched].sort());
    expect(metrics.from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ]);
  });

  it("renders Roles in the watched namespaces and the lease namespace, no ClusterRole", () => {
    const rbac = objects(rendered).filter((o) => o.kind.includes("Role"));
    expect(rbac.filter((o) => o.kind.startsWith("Cluster"))).toEqual([]);
    expect(
      rbac
        .filter((o) => o.kind === "Role")
        .map((o) => o.metadata.namespace)
        .sort(),
    ).toEqual([home, ...watched].sort());
  });

  it("grants the reconcile rights in each watched namespace, without Jobs and without update", async () => {
    for (const n of watched) {
      const rights = await canList(sa(), n);
      expect(rights.get("deployments.apps"), n).toEqual([
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "watch",
      ]);
      expect(rights.get("configmaps"), n).toEqual(["create", "delete", "get", "list", "patch", "watch"]);
      expect(rights.get("poddisruptionbudgets.policy"), n).toEqual([
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "watch",
      ]);
      expect(rights.get("medmodels.medmlops.io/status"), n).toEqual(["get", "patch"]);
      expect(rights.get("events.events.k8s.io"), n).toEqual(["create", "patch"]);
      expect(rights.has("jobs.batch"), n).toBe(false);
      expect(rights.has("secrets"), n).toBe(false);
      expect(rights.get("certificates.cert-manager.io"), n).toEqual([
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "watch",
      ]);
      expect(rights.has("leases.coordination.k8s.io"), n).toBe(false);
    }
  });

  it("grants nothing of the kind in a namespace it does not watch; the Lease only at home", async () => {
    const elsewhere = await canList(sa(), other);
    for (const r of [
      "deployments.apps",
      "services",
      "configmaps",
      "poddisruptionbudgets.policy",
      "medmodels.medmlops.io",
      "pods",
      "jobs.batch",
      "certificates.cert-manager.io",
    ])
      expect(elsewhere.has(r), r).toBe(false);
    const atHome = await canList(sa(), home);
    expect(atHome.get("leases.coordination.k8s.io")).toEqual(["create", "get", "update"]);
    expect(atHome.has("deployments.apps")).toBe(false);
  });

  it("grants Jobs only when the RetrainJob controller is enabled", async () => {
    const withJobs = await template(
      release,
      home,
      "--set",
      `operator.watchNamespaces={${watched.join(",")}}`,
      "--set",
      "operator.retrainJobController.enabled=true",
    );
    await kubectlOk(["apply", "--server-side", "-f", "-"], withJobs);
    expect((await canList(sa(), watched[0]!)).get("jobs.batch")).toEqual([
      "create",
      "delete",
      "get",
      "list",
      "patch",
      "watch",
    ]);
    expect((await canList(sa(), other)).has("jobs.batch")).toBe(false);
  });
});

describe("the MedModel admission policy (ValidatingAdmissionPolicy) on the real API server", () => {
  let ns: FreshNamespace;
  const release = `mm-${Math.random().toString(16).slice(2, 8)}`;
  let rendered = "";
  const model = (
    name: string,
    over: {
      image?: string;
      secret?: string;
      caseIdSecret?: string;
      uri?: string;
      tls?: { secretName?: string; clientAuth?: string; tokenSecretRef?: { name: string; key: string } };
    },
  ) =>
    medModelManifest(name, ns.name, {
      versions: [
        { name: "v1", source: { uri: over.uri ?? "https://models.example/m.onnx", sha256: "a".repeat(64) } },
      ],
      ...(over.image || over.caseIdSecret || over.tls
        ? {
            serving: {
              ...(over.image ? { image: over.image } : {}),
              ...(over.tls ? { tls: over.tls } : {}),
              ...(over.caseIdSecret
                ? { caseIdKeySecretRef: { name: over.caseIdSecret, key: "hmac-key" } }
                : {}),
            },
          }
        : {}),
      ...(over.secret ? { deid: { keySecretRef: { name: over.secret, key: "hmac-key" } } } : {}),
    });
  const create = (m: object) =>
    kubectl(["create", "--dry-run=server", cacheDir, "-f", "-"], JSON.stringify(m));

  beforeAll(async () => {
    ns = await freshNamespace("chart-vap");
    // Bound to the test namespace only (watchNamespaces), so other tests on the shared cluster are untouched.
    rendered = await template(
      release,
      ns.name,
      "--set",
      `operator.watchNamespaces={${ns.name}}`,
      "--set",
      "admission.allowedModelClaims={models}",
      "--set",
      "admission.allowedTlsSecrets={chest-tls,chest-token}",
    );
    await kubectlOk(["apply", "--server-side", "-f", "-"], rendered);
    // On the shared cluster the medmlops.io kinds were seen missing from discovery for a while (other suites
    // re-applying the CRDs): wait until MedModels are served.
    await waitFor(
      async () => (await kubectl(["get", "medmodels.medmlops.io", "-n", ns.name, cacheDir])).code === 0,
      60_000,
    );
    // The API server compiles a new policy asynchronously: wait until it denies.
    await waitFor(
      async () => (await create(model("probe", { image: "evil.example/x:1" }))).code !== 0,
      30_000,
    );
  });
  afterAll(async () => {
    await kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], rendered);
    await ns?.delete();
  });

  it("binds to the watched namespaces only", () => {
    const binding = objects(rendered).find((o) => o.kind === "ValidatingAdmissionPolicyBinding")!;
    expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values).toEqual([ns.name]);
  });

  it("refuses an image outside the allow-list, a foreign key Secret and an unlisted claim, saying which", async () => {
    for (const [over, words] of [
      [{ image: "evil.example/miner:latest" }, "spec.serving.image"],
      [{ secret: "someone-elses-secret" }, "spec.deid.keySecretRef"],
      [{ caseIdSecret: "someone-elses-secret" }, "spec.serving.caseIdKeySecretRef"],
      [{ uri: "pvc://payroll/model.onnx" }, "pvc:// model source"],
      [{ tls: { secretName: "someone-elses-secret" } }, "spec.serving.tls"],
      [
        {
          tls: {
            secretName: "chest-tls",
            clientAuth: "token",
            tokenSecretRef: { name: "someone-elses-secret", key: "token" },
          },
        },
        "spec.serving.tls",
      ],
      [
        { tls: { clientAuth: "token", tokenSecretRef: { name: "someone-elses-secret", key: "token" } } },
        "spec.serving.tls",
      ],
    ] as const) {
      const r = await create(model("bad", over));
      expect(r.code, JSON.stringify(over)).not.toBe(0);
      expect(r.stderr).toContain("ValidatingAdmissionPolicy");
      expect(r.stderr).toContain(words);
    }
  });

  it("admits the chart's image (tag or digest), the listed Secret and claim", async () => {
    for (const over of [
      {},
      { image: "ghcr.io/medmlops/medmlops:0.1.0-cuda" },
      { image: `ghcr.io/medmlops/medmlops@sha256:${"b".repeat(64)}` },
      { secret: "medmlops-deid-key" },
      { caseIdSecret: "medmlops-case-id-key" },
      { uri: "pvc://models/chest/v1.onnx" },
      { tls: { secretName: "chest-tls", clientAuth: "mtls" } },
      // without secretName: the operator issues the certificate into its own Secret, nothing to allow
      { tls: { clientAuth: "mtls" } },
      {
        tls: {
          secretName: "chest-tls",
          clientAuth: "token",
          tokenSecretRef: { name: "chest-token", key: "token" },
        },
      },
    ]) {
      const r = await create(model("good", over));
      expect(r.code, `${JSON.stringify(over)}: ${r.stderr}`).toBe(0);
    }
  });
});
