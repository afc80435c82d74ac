// The chart's default (monitor.tls.mode helm) proven on the wire: render the chart, write the generated Secret
// where the rendered Deployments mount it (paths moved under a temp dir), start the real `medmlops monitor`
// process with the rendered container args and env, and call it like the operator does — its flags parsed from
// the rendered env, its MonitorClient built from them — at the rendered https:// Service URL. The Service name is
// resolved to 127.0.0.1 here (a patched dns.lookup), so the TLS handshake verifies the certificate against the
// real Service DNS name: trusted with the rendered CA, refused without it and under any other name. A real
// Prometheus scrapes it with the rendered ServiceMonitor's scheme, CA and server name, on the metrics port (the API
// port serves no /metrics).
import dns from "node:dns";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { MonitorClient, MonitorUnavailableError } from "../../monitor/client.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "../../monitor/testing/index.ts";
import { parseFlags } from "../../operator/cli.ts";
import { monitorOptions } from "../../operator/runtime/monitor-options.ts";
import { all, one, type Rendered, renderChart } from "../support/chart.ts";
import { startPrometheus } from "../support/prometheus.ts";

const HOST = "x-medmlops-monitor.med.svc";

describe("chart helm-mode TLS between a real monitor process and the operator's client", () => {
  const root = mkdtempSync(join(tmpdir(), "medmlops-chart-tls-"));
  const dataDirs: string[] = [];
  const lookup = dns.lookup;
  let monitor: SpawnedMonitor;
  let operatorEnv: Record<string, string>;
  let port = 0;
  let metricsPort = 0;
  let caPem = "";
  let secrets: Rendered[] = [];
  let serviceMonitor: Rendered;

  /** Writes each Secret volume's items under root + mountPath, as the kubelet would; returns the mount paths. */
  function materializeMounts(d: Rendered, secrets: Rendered[]): string[] {
    const spec = d.spec.template.spec;
    const mounts: string[] = [];
    for (const m of spec.containers[0].volumeMounts as { name: string; mountPath: string }[]) {
      const v = (spec.volumes as Rendered[]).find((x) => x.name === m.name);
      if (!v?.secret) continue;
      const s = secrets.find((x) => x.metadata.name === v.secret.secretName);
      if (!s) throw new Error(`the chart mounts Secret ${v.secret.secretName} but does not render it`);
      for (const item of v.secret.items as { key: string; path: string }[]) {
        const file = join(root, m.mountPath, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, Buffer.from(s.data[item.key], "base64"));
      }
      mounts.push(m.mountPath);
    }
    return mounts;
  }
  const remap = (value: string, mounts: string[]) =>
    mounts.some((m) => value.startsWith(`${m}/`)) ? join(root, value) : value;

  beforeAll(async () => {
    const objects = await renderChart(["monitor.serviceMonitor.enabled=true"]);
    secrets = all(objects, "Secret");
    serviceMonitor = one(objects, "ServiceMonitor", "-monitor");
    const mon = one(objects, "Deployment", "-monitor");
    const op = one(objects, "Deployment", "-operator");
    const c = mon.spec.template.spec.containers[0];
    const monMounts = materializeMounts(mon, secrets);
    const opMounts = materializeMounts(op, secrets);
    // The rendered args, minus what a test machine must choose itself: the ports and the data directory.
    const args: string[] = [];
    const rendered = (c.args as string[]).slice(1);
    expect(c.args[0]).toBe("monitor");
    expect(rendered).toContain("--metrics-port");
    for (let i = 0; i < rendered.length; i++) {
      if (["--port", "--metrics-port", "--data-dir"].includes(rendered[i]!)) i++;
      else args.push(remap(rendered[i]!, monMounts));
    }
    expect(args).toContain("--tls-cert");
    const env = Object.fromEntries(
      (c.env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, remap(e.value as string, monMounts)]),
    );
    const dataDir = await freshPgliteDir();
    dataDirs.push(dataDir);
    monitor = await spawnMonitor({ dataDir, args, env });
    expect(monitor.url).toMatch(/^https:/);
    port = Number(new URL(monitor.url).port);
    metricsPort = Number(new URL(monitor.metricsUrl).port);
    expect(monitor.metricsUrl).toMatch(/^https:/);

    const opEnv = Object.fromEntries(
      (op.spec.template.spec.containers[0].env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, remap(e.value as string, opMounts)]),
    );
    const url = new URL(opEnv.MEDMLOPS_MONITOR_URL!);
    expect(url.hostname).toBe(HOST);
    url.port = String(port);
    operatorEnv = { ...opEnv, MEDMLOPS_MONITOR_URL: url.origin };
    caPem = Buffer.from(
      secrets.find((s) => s.metadata.name.endsWith("-monitor-tls"))!.data["ca.crt"],
      "base64",
    ).toString();

    // Cluster DNS for the test: every *.med.svc name is this machine.
    (dns as { lookup: unknown }).lookup = (host: string, opts: unknown, cb?: (...a: unknown[]) => void) => {
      const callback = (typeof opts === "function" ? opts : cb) as (...a: unknown[]) => void;
      const o = (typeof opts === "object" && opts !== null ? opts : {}) as { all?: boolean };
      if (!host.endsWith(".med.svc")) return (lookup as (...a: unknown[]) => void)(host, opts, cb);
      return o.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4);
    };
  }, 120_000);

  afterAll(async () => {
    dns.lookup = lookup;
    await monitor?.stop();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it("the operator, configured only by the rendered env, reaches the monitor at its Service name over verified TLS", async () => {
    const flags = parseFlags([], operatorEnv);
    if (flags === "help") throw new Error("help");
    expect(flags.monitorTls?.caFile).toMatch(/ca\.crt$/);
    const client = new MonitorClient(flags["monitor-url"]!, monitorOptions({ monitorTls: flags.monitorTls }));
    expect(client.baseUrl).toBe(`https://${HOST}:${port}`);
    expect(await client.ready()).toBe(true);
    await expect(client.worklist({ namespace: "ns", model: "m" })).resolves.toBeDefined();
  }, 60_000);

  it("a client without the rendered CA is refused at the handshake", async () => {
    const client = new MonitorClient(operatorEnv.MEDMLOPS_MONITOR_URL!);
    await expect(client.worklist({ namespace: "ns", model: "m" })).rejects.toBeInstanceOf(
      MonitorUnavailableError,
    );
  });

  it("the certificate names the Service and nothing else: other names fail hostname verification", async () => {
    const handshake = (servername: string) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: "127.0.0.1", port, servername, ca: caPem }, () => {
          resolve("ok");
          s.end();
        });
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    for (const name of [HOST, "x-medmlops-monitor", "x-medmlops-monitor.med", `${HOST}.cluster.local`])
      expect(await handshake(name), name).toBe("ok");
    expect(await handshake("other-monitor.med.svc")).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    // The operator's client at an address the certificate does not name (the pod IP, say) is refused as well.
    const flags = parseFlags([], { ...operatorEnv, MEDMLOPS_MONITOR_URL: `https://127.0.0.1:${port}` });
    if (flags === "help") throw new Error("help");
    const byIp = new MonitorClient(flags["monitor-url"]!, monitorOptions({ monitorTls: flags.monitorTls }));
    expect(await byIp.ready()).toBe(false);
  });

  it("a real Prometheus scrapes its metrics port with the rendered ServiceMonitor's scheme, CA and server name — and fails without the CA, or on the API port", async () => {
    const ep = serviceMonitor.spec.endpoints[0];
    expect(ep.scheme).toBe("https");
    expect(ep.port).toBe("metrics");
    const ref = ep.tlsConfig.ca.secret as { name: string; key: string };
    const ca = Buffer.from(secrets.find((s) => s.metadata.name === ref.name)!.data[ref.key], "base64");
    // What the Prometheus Operator makes of the endpoint (target: the pod, i.e. this machine's port).
    const job = (name: string, tls: Record<string, string>, target = metricsPort) => ({
      job_name: name,
      scheme: ep.scheme,
      metrics_path: ep.path,
      honor_labels: ep.honorLabels,
      tls_config: tls,
      static_configs: [{ targets: [`127.0.0.1:${target}`] }],
    });
    const prom = await startPrometheus(
      stringify({
        global: { scrape_interval: "1s", scrape_timeout: "1s" },
        scrape_configs: [
          job("chart", { ca_file: "ca.crt", server_name: ep.tlsConfig.serverName }),
          job("without-ca", { server_name: ep.tlsConfig.serverName }),
          job("api-port", { ca_file: "ca.crt", server_name: ep.tlsConfig.serverName }, port),
        ],
      }),
      { "ca.crt": ca.toString() },
    );
    try {
      const up = async () =>
        Object.fromEntries((await prom.query("up")).map((r) => [r.metric.job, r.value?.[1]]));
      const end = Date.now() + 30_000;
      while (Object.keys(await up()).length < 3 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 500));
      expect(await up()).toEqual({ chart: "1", "without-ca": "0", "api-port": "0" });
      const scraped = await prom.query('count({job="chart", __name__!~"up|scrape_.*"})');
      expect(Number(scraped[0]?.value?.[1])).toBeGreaterThan(10);
    } finally {
      await prom.stop();
    }
  }, 90_000);

  it("kubelet-style HTTPS probes (no verification, no client certificate) reach the rendered probe paths", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const status = await new Promise<number>((resolve, reject) =>
        get({ host: "127.0.0.1", port, path, rejectUnauthorized: false }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        }).on("error", reject),
      );
      expect(status, path).toBe(200);
    }
  });
});
