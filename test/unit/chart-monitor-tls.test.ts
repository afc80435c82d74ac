// The monitor's TLS as the chart renders it (offline helm) in each monitor.tls.mode: where the certificate comes
// from, that the monitor serves it (args, mounts, HTTPS probes, port name), that the operator gets an https:// URL
// and only the CA (never the key), and that the ServiceMonitor scrapes over HTTPS. Plain HTTP only with mode none.
import { createHash, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseFlags } from "../../operator/cli.ts";
import { all, one, type Rendered, renderChart } from "../support/chart.ts";

const HOST = "x-medmlops-monitor.med.svc";
const NAMES = [
  "x-medmlops-monitor",
  "x-medmlops-monitor.med",
  HOST,
  "x-medmlops-monitor.med.svc.cluster.local",
];

const container = (d: Rendered) => d.spec.template.spec.containers[0];
const envOf = (d: Rendered): Record<string, string> =>
  Object.fromEntries(
    (container(d).env as { name: string; value?: string }[])
      .filter((e) => e.value !== undefined)
      .map((e) => [e.name, e.value as string]),
  );

/** Where a file path in a container comes from: the Secret and key behind the mount that holds it. */
function sourceOf(d: Rendered, path: string): { secret: string; key: string } | undefined {
  const c = container(d);
  for (const m of c.volumeMounts as { name: string; mountPath: string }[]) {
    if (!path.startsWith(`${m.mountPath}/`)) continue;
    const v = (d.spec.template.spec.volumes as Rendered[]).find((x) => x.name === m.name);
    if (!v?.secret) return undefined;
    const rel = path.slice(m.mountPath.length + 1);
    const item = (v.secret.items as { key: string; path: string }[] | undefined)?.find((i) => i.path === rel);
    return { secret: v.secret.secretName, key: item ? item.key : rel };
  }
  return undefined;
}

function argAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

async function parts(set: string[]) {
  // The models' own cert-manager objects (modelServing.tls, chart-serving-tls.test.ts) stay out of the monitor's.
  const objects = await renderChart([
    "monitor.serviceMonitor.enabled=true",
    "modelServing.tls.mode=none",
    ...set,
  ]);
  const monitor = one(objects, "Deployment", "-monitor");
  const operator = one(objects, "Deployment", "-operator");
  const service = all(objects, "Service").find((s) => s.metadata.name.endsWith("-monitor"))!;
  const serviceMonitor = one(objects, "ServiceMonitor", "-monitor");
  return { objects, monitor, operator, service, serviceMonitor };
}

/** What every TLS mode shares: HTTPS served from `secret`, the operator trusting its CA key `caKey`. */
function expectServesTls(p: Awaited<ReturnType<typeof parts>>, secret: string, caKey: string | undefined) {
  const c = container(p.monitor);
  const args = c.args as string[];
  expect(sourceOf(p.monitor, argAfter(args, "--tls-cert")!)).toEqual({ secret, key: "tls.crt" });
  expect(sourceOf(p.monitor, argAfter(args, "--tls-key")!)).toEqual({ secret, key: "tls.key" });
  for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    expect(c[probe].httpGet.scheme, probe).toBe("HTTPS");
    expect(c[probe].httpGet.port).toBe("https");
  }
  expect(c.ports[0].name).toBe("https");
  expect(p.service.spec.ports[0]).toMatchObject({ name: "https", targetPort: "https", appProtocol: "https" });
  // The metrics port serves the same certificate (the monitor gives both listeners --tls-cert/--tls-key).
  expect(c.ports[1]).toMatchObject({ name: "metrics", containerPort: 9091 });
  expect(p.service.spec.ports[1]).toMatchObject({
    name: "metrics",
    targetPort: "metrics",
    appProtocol: "https",
  });

  const env = envOf(p.operator);
  expect(env.MEDMLOPS_MONITOR_URL).toBe(`https://${HOST}:8090`);
  if (caKey) {
    expect(sourceOf(p.operator, env.MEDMLOPS_MONITOR_CA!)).toEqual({ secret, key: caKey });
  } else {
    expect(env).not.toHaveProperty("MEDMLOPS_MONITOR_CA");
  }
  // The operator mounts the CA alone: no item of the monitor's Secret but the CA reaches it.
  const opVolumes = p.operator.spec.template.spec.volumes as Rendered[];
  for (const v of opVolumes.filter((x) => x.secret?.secretName === secret))
    expect(v.secret.items.map((i: { key: string }) => i.key)).toEqual([caKey]);
  // The operator's own flag parser accepts what the chart gives it.
  const flags = parseFlags([], env);
  if (flags === "help") throw new Error("help");
  expect(flags["monitor-url"]).toBe(`https://${HOST}:8090`);
  expect(flags.monitorTls?.caFile).toBe(caKey ? env.MEDMLOPS_MONITOR_CA : undefined);

  const ep = p.serviceMonitor.spec.endpoints[0];
  expect(ep).toMatchObject({ port: "metrics", scheme: "https", tlsConfig: { serverName: HOST } });
  if (caKey) expect(ep.tlsConfig.ca).toEqual({ secret: { name: secret, key: caKey } });
  else expect(ep.tlsConfig).not.toHaveProperty("ca");
}

describe("chart: monitor TLS", () => {
  it("defaults to helm mode: a generated CA and a certificate for the Service's names, served and trusted", async () => {
    const p = await parts([]);
    const secret = one(p.objects, "Secret", "-monitor-tls");
    expect(secret.type).toBe("kubernetes.io/tls");
    const pem = (k: string) => Buffer.from(secret.data[k], "base64").toString("utf8");
    const cert = new X509Certificate(pem("tls.crt"));
    const ca = new X509Certificate(pem("ca.crt"));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(cert.checkHost(HOST)).toBe(HOST);
    for (const n of NAMES) expect(cert.subjectAltName).toContain(`DNS:${n}`);
    expect(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(pem("tls.key")))).toBe(true);
    expectServesTls(p, secret.metadata.name, "ca.crt");
    // A regenerated CA restarts the operator (it reads the CA at start for the models' ConfigMaps).
    expect(p.operator.spec.template.metadata.annotations["medmlops.io/monitor-ca-sha256"]).toBe(
      createHash("sha256").update(secret.data["ca.crt"]).digest("hex"),
    );
    // Nothing of cert-manager in this mode.
    expect(p.objects.filter((o) => o.apiVersion.startsWith("cert-manager.io"))).toEqual([]);
  });

  it("cert-manager mode without an issuer: a self-signed root, a CA Certificate and Issuer, and the monitor's Certificate", async () => {
    const p = await parts(["monitor.tls.mode=cert-manager"]);
    expect(all(p.objects, "Secret")).toEqual([]);
    const issuers = all(p.objects, "Issuer");
    const selfSigned = issuers.find((i) => i.spec.selfSigned)!;
    const caIssuer = issuers.find((i) => i.spec.ca)!;
    const caCert = one(p.objects, "Certificate", "-monitor-ca");
    expect(caCert.spec).toMatchObject({
      isCA: true,
      issuerRef: { name: selfSigned.metadata.name, kind: "Issuer" },
    });
    expect(caIssuer.spec.ca.secretName).toBe(caCert.spec.secretName);
    const cert = one(p.objects, "Certificate", "-monitor-tls");
    expect(cert.spec.issuerRef).toEqual({
      name: caIssuer.metadata.name,
      kind: "Issuer",
      group: "cert-manager.io",
    });
    expect(cert.spec.dnsNames).toEqual(NAMES);
    expect(cert.spec.usages).toContain("server auth");
    expect(cert.spec.privateKey.rotationPolicy).toBe("Always");
    expectServesTls(p, cert.spec.secretName, "ca.crt");
    expect(p.operator.spec.template.metadata.annotations).not.toHaveProperty("medmlops.io/monitor-ca-sha256");
  });

  it("cert-manager mode with the hospital's issuer: only the monitor's Certificate, from that issuer", async () => {
    const p = await parts([
      "monitor.tls.mode=cert-manager",
      "monitor.tls.certManager.issuerRef.name=hospital-ca",
      "monitor.tls.certManager.issuerRef.kind=ClusterIssuer",
      "monitor.tls.extraDnsNames={monitor.hospital.example}",
    ]);
    expect(all(p.objects, "Issuer")).toEqual([]);
    const cert = one(p.objects, "Certificate");
    expect(cert.spec.issuerRef).toEqual({
      name: "hospital-ca",
      kind: "ClusterIssuer",
      group: "cert-manager.io",
    });
    expect(cert.spec.dnsNames).toEqual([...NAMES, "monitor.hospital.example"]);
    expectServesTls(p, cert.spec.secretName, "ca.crt");
  });

  it("secret mode: the named Secret, its CA key or the public roots; a missing name fails the render", async () => {
    const p = await parts(["monitor.tls.mode=secret", "monitor.tls.secret.name=monitor-cert"]);
    expect(all(p.objects, "Secret")).toEqual([]);
    expect(all(p.objects, "Certificate")).toEqual([]);
    expectServesTls(p, "monitor-cert", "ca.crt");
    const pub = await parts([
      "monitor.tls.mode=secret",
      "monitor.tls.secret.name=monitor-cert",
      "monitor.tls.secret.caKey=",
    ]);
    expectServesTls(pub, "monitor-cert", undefined);
    await expect(renderChart(["monitor.tls.mode=secret"])).rejects.toThrow(/needs monitor.tls.secret.name/);
  });

  it("none: plain HTTP for a mesh — http URL, no certificate, no CA, HTTP probes", async () => {
    const p = await parts(["monitor.tls.mode=none"]);
    const c = container(p.monitor);
    expect(c.args).not.toContain("--tls-cert");
    expect(c.livenessProbe.httpGet).not.toHaveProperty("scheme");
    expect(p.service.spec.ports.map((x: { name: string }) => x.name)).toEqual(["http", "metrics"]);
    expect(p.service.spec.ports[1]).not.toHaveProperty("appProtocol");
    expect(envOf(p.operator).MEDMLOPS_MONITOR_URL).toBe(`http://${HOST}:8090`);
    expect(envOf(p.operator)).not.toHaveProperty("MEDMLOPS_MONITOR_CA");
    expect(p.serviceMonitor.spec.endpoints[0]).toEqual(expect.not.objectContaining({ scheme: "https" }));
    expect(all(p.objects, "Secret")).toEqual([]);
  });

  it("no monitor: no certificate and no monitor settings for the operator", async () => {
    const objects = await renderChart(["monitor.enabled=false"]);
    expect(all(objects, "Secret")).toEqual([]);
    const env = envOf(one(objects, "Deployment", "-operator"));
    expect(env).not.toHaveProperty("MEDMLOPS_MONITOR_URL");
    expect(env).not.toHaveProperty("MEDMLOPS_MONITOR_CA");
  });

  it("refuses an unknown mode (values schema)", async () => {
    await expect(renderChart(["monitor.tls.mode=plain"])).rejects.toThrow(/mode/);
  });
});
