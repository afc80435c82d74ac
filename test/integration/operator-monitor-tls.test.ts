// The operator's monitor client over TLS, on the real control plane with a real `medmlops monitor` process that
// serves HTTPS and requires a client certificate (mTLS): the operator's flags become the MonitorClient's files
// (its audit entries get through), and the model pods it builds trust the monitor — the operator's CA bundle in
// the model's ConfigMap, mounted into the sidecar and passed as --monitor-ca. Without the client certificate the
// monitor refuses the operator and the entry waits in status (Audited=False). A rotated CA, client certificate and
// key (new files under the running operator and monitor) are picked up without a restart: the next call gets
// through, and the models' ConfigMaps carry the new CA within seconds (not at the next resync).
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../monitor/client.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "../../monitor/testing/index.ts";
import { MonitorClient, MonitorUnavailableError } from "../../monitor/client.ts";
import { CA_CONSUMERS, parseFlags, watchMonitorCa } from "../../operator/cli.ts";
import { monitorOptions } from "../../operator/runtime/monitor-options.ts";
import { Manager } from "../../operator/manager.ts";
import { medModelControllerWith } from "../../operator/medmodel/index.ts";
import { type FreshNamespace, freshNamespace, testKubeConfig } from "../cluster/client.ts";
import { makePki, type Pki } from "../support/certs.ts";
import {
  condition,
  FAST,
  getModel,
  harness,
  type Harness,
  installCrds,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;
let pki: Pki;
let monitor: SpawnedMonitor;
const managers: Manager[] = [];

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("mm-tls");
  h = harness(ns.name);
  pki = makePki();
  const server = pki.issue("monitor", { server: true });
  const admin = pki.issue("admin");
  monitor = await spawnMonitor({
    dataDir: await freshPgliteDir(),
    args: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", pki.caCert],
    env: { MEDMLOPS_CLIENT_AUTH: "mtls" },
    clientTls: { caFile: pki.caCert, certFile: admin.cert, keyFile: admin.key },
  });
});

afterAll(async () => {
  for (const m of managers) await m.stop();
  await monitor?.stop().catch(() => {});
  await ns?.delete();
  pki?.remove();
});

/** An operator configured the way `medmlops operator` configures it from these flags. */
async function operator(argv: string[], identity: string, url = monitor.url): Promise<Manager> {
  const flags = parseFlags(["--monitor-url", url, ...argv], {});
  if (flags === "help") throw new Error("help");
  const log = pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
  let manager: Manager | undefined;
  const ca = watchMonitorCa(flags, log, () => manager?.requeueAll(CA_CONSUMERS) ?? 0);
  manager = new Manager({
    kubeConfig: testKubeConfig(),
    log,
    controllers: [medModelControllerWith({ decision: FAST, auditRetryMs: 1000 })],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `${identity}-${process.pid}`,
      monitorUrl: flags["monitor-url"]!,
      ...(flags.monitorTls ? { monitorTls: flags.monitorTls } : {}),
      ...(ca ? { monitorCa: () => ca.current() } : {}),
    },
  });
  const started = manager;
  managers.push(started);
  const stop = started.stop.bind(started);
  started.stop = async () => {
    ca?.stop();
    await stop();
  };
  await started.start();
  return started;
}

async function entriesOf(name: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of monitor.client.listAudit()) if (e.subject.name === name) out.push(e);
  return out;
}

async function caOf(name: string): Promise<string | undefined> {
  const cm = await h.rest.request<{ data: Record<string, string> }>(
    "GET",
    `/api/v1/namespaces/${ns.name}/configmaps/${name}-signature`,
  );
  return cm.data["monitor-ca.crt"];
}

async function suspend(name: string): Promise<void> {
  await h.user.apply(manifest(name, ns.name, { activeVersion: "v1" }));
  await waitFor(async () => condition(await getModel(h, ns.name, name), "Ready")?.status === "True", 30_000);
  await h.user.apply(
    manifest(name, ns.name, { activeVersion: "v1", suspend: true, suspendReason: "maintenance" }),
  );
}

describe("the operator's monitor client over TLS (real API server, real monitor process)", () => {
  it("with --monitor-ca/--monitor-cert/--monitor-key: its entries reach an mTLS monitor, and model pods trust the monitor's CA", async () => {
    const op = pki.issue("operator");
    const m = await operator(
      ["--monitor-ca", pki.caCert, "--monitor-cert", op.cert, "--monitor-key", op.key],
      "mm-tls",
    );
    try {
      await suspend("chest");
      await waitFor(async () => (await entriesOf("chest")).some((e) => e.action === "Suspend"), 30_000);
      await waitFor(
        async () => condition(await getModel(h, ns.name, "chest"), "Audited")?.status === "True",
        30_000,
      );

      const cm = await h.rest.request<{ data: Record<string, string> }>(
        "GET",
        `/api/v1/namespaces/${ns.name}/configmaps/chest-signature`,
      );
      expect(cm.data["monitor-ca.crt"]).toBe(readFileSync(pki.caCert, "utf8"));
      type Pod = {
        volumes: { name: string; configMap?: unknown }[];
        containers: { name: string; args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
      };
      const d = await h.rest.request<{ spec: { template: { spec: Pod } } }>(
        "GET",
        `/apis/apps/v1/namespaces/${ns.name}/deployments/chest-v1`,
      );
      const pod = d.spec.template.spec;
      const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
      expect(
        sidecar.args.slice(sidecar.args.indexOf("--monitor-url"), sidecar.args.indexOf("--monitor-url") + 2),
      ).toEqual(["--monitor-url", monitor.url]);
      expect(sidecar.args[sidecar.args.indexOf("--monitor-ca") + 1]).toBe("/etc/medmlops/monitor-ca/ca.crt");
      expect(sidecar.volumeMounts).toContainEqual(
        expect.objectContaining({ name: "monitor-ca", mountPath: "/etc/medmlops/monitor-ca" }),
      );
      expect(pod.volumes).toContainEqual({
        name: "monitor-ca",
        configMap: {
          name: "chest-signature",
          items: [{ key: "monitor-ca.crt", path: "ca.crt" }],
          defaultMode: 420,
        },
      });
    } finally {
      await m.stop();
    }
  });

  it("without the client certificate the mTLS monitor refuses the operator: the entry waits (Audited=False)", async () => {
    const m = await operator(["--monitor-ca", pki.caCert], "mm-tls-nocert");
    try {
      await suspend("refused");
      const x = await waitFor(async () => {
        const got = await getModel(h, ns.name, "refused");
        return condition(got, "Audited")?.reason === "AuditPending" ? got : undefined;
      }, 30_000);
      expect(condition(x, "Suspended")?.status).toBe("True");
      expect(condition(x, "Audited")).toMatchObject({ status: "False", reason: "AuditPending" });
      await new Promise((r) => setTimeout(r, 2500)); // retries (every 1 s) keep being refused
      expect(await entriesOf("refused")).toEqual([]);
    } finally {
      await m.stop();
    }
  });

  it("a rotated CA, client certificate and key reach the running operator: the next call gets through, the models get the new CA", async () => {
    // Files where the kubelet would mount them, replaced whole as a Secret update does (rename, never half-written).
    const dir = mkdtempSync(join(tmpdir(), "medmlops-rotate-"));
    const put = (from: string, to: string) => {
      copyFileSync(from, join(dir, `${to}.new`));
      renameSync(join(dir, `${to}.new`), join(dir, to));
    };
    const p = (f: string) => join(dir, f);
    const next = makePki();
    let rotating: SpawnedMonitor | undefined;
    let m: Manager | undefined;
    try {
      const server = pki.issue("monitor-r", { server: true });
      const op = pki.issue("operator-r");
      put(server.cert, "server.crt");
      put(server.key, "server.key");
      put(pki.caCert, "client-ca.crt");
      put(pki.caCert, "ca.crt");
      put(op.cert, "tls.crt");
      put(op.key, "tls.key");
      rotating = await spawnMonitor({
        dataDir: await freshPgliteDir(),
        args: [
          "--tls-cert",
          p("server.crt"),
          "--tls-key",
          p("server.key"),
          "--tls-client-ca",
          p("client-ca.crt"),
        ],
        env: { MEDMLOPS_CLIENT_AUTH: "mtls" },
      });
      const argv = [
        "--monitor-ca",
        p("ca.crt"),
        "--monitor-cert",
        p("tls.crt"),
        "--monitor-key",
        p("tls.key"),
      ];
      m = await operator(argv, "mm-tls-rotate", rotating.url);
      // The operator's MonitorClient, as every controller builds it from the same flags.
      const flags = parseFlags(["--monitor-url", rotating.url, ...argv], {});
      if (flags === "help") throw new Error("help");
      const client = new MonitorClient(rotating.url, monitorOptions({ monitorTls: flags.monitorTls }));
      // A client with the old files, on a new connection each time (open connections outlive a rotation).
      const oldClient = () =>
        new MonitorClient(rotating!.url, { tls: { caFile: pki.caCert, certFile: op.cert, keyFile: op.key } });
      await expect(client.worklist({ namespace: ns.name, model: "m" })).resolves.toBeDefined();
      await h.user.apply(manifest("rotated", ns.name, { activeVersion: "v1" }));
      await waitFor(async () => (await caOf("rotated")) === readFileSync(pki.caCert, "utf8"), 30_000);

      // Rotate everything to a new CA: the monitor's certificate and the CA it checks clients against, and the
      // operator's CA bundle, client certificate and key.
      const server2 = next.issue("monitor-2", { server: true });
      const op2 = next.issue("operator-2");
      put(server2.cert, "server.crt");
      put(server2.key, "server.key");
      put(next.caCert, "client-ca.crt");
      put(next.caCert, "ca.crt");
      put(op2.cert, "tls.crt");
      put(op2.key, "tls.key");
      const rotatedAt = Date.now();

      // The monitor now refuses the old credentials (a new connection does not trust its new certificate)...
      await waitFor(
        () =>
          oldClient()
            .worklist({ namespace: ns.name, model: "m" })
            .then(
              () => false,
              (e) => e instanceof MonitorUnavailableError,
            ),
        15_000,
      );
      // ...and the operator's client, never restarted, gets through with the rotated files.
      await waitFor(
        () =>
          client.worklist({ namespace: ns.name, model: "m" }).then(
            () => true,
            () => false,
          ),
        15_000,
      );
      // The model's ConfigMap carries the new CA, with nothing changed on the MedModel, well before a resync would
      // (10 min): the CA change re-queued the models.
      await waitFor(async () => (await caOf("rotated")) === readFileSync(next.caCert, "utf8"), 20_000);
      expect(Date.now() - rotatedAt).toBeLessThan(25_000);
      // So do its controllers: a suspension's audit entry reaches the monitor (Audited=True).
      await h.user.apply(
        manifest("rotated", ns.name, { activeVersion: "v1", suspend: true, suspendReason: "maintenance" }),
      );
      await waitFor(async () => {
        try {
          for await (const e of client.listAudit())
            if (e.subject.name === "rotated" && e.action === "Suspend") return true;
        } catch {
          // not yet
        }
        return false;
      }, 30_000);
      await waitFor(
        async () => condition(await getModel(h, ns.name, "rotated"), "Audited")?.status === "True",
        30_000,
      );
    } finally {
      await m?.stop();
      await rotating?.stop().catch(() => {});
      next.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
