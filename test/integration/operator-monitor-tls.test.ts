// The operator's monitor client over TLS, on the real control plane with a real `medmlops monitor` process that
// serves HTTPS and requires a client certificate (mTLS): the operator's flags become the MonitorClient's files
// (its audit entries get through), and the model pods it builds trust the monitor — the operator's CA bundle in
// the model's ConfigMap, mounted into the sidecar and passed as --monitor-ca. Without the client certificate the
// monitor refuses the operator and the entry waits in status (Audited=False).
import { readFileSync } from "node:fs";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../monitor/client.ts";
import { freshPgliteDir, type SpawnedMonitor, spawnMonitor } from "../../monitor/testing/index.ts";
import { parseFlags } from "../../operator/cli.ts";
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
async function operator(argv: string[], identity: string): Promise<Manager> {
  const flags = parseFlags(["--monitor-url", monitor.url, ...argv], {});
  if (flags === "help") throw new Error("help");
  const manager = new Manager({
    kubeConfig: testKubeConfig(),
    log: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    controllers: [medModelControllerWith({ decision: FAST, auditRetryMs: 1000 })],
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    config: {
      namespace: ns.name,
      sidecarImage: "ghcr.io/medmlops/medmlops:test",
      identity: `${identity}-${process.pid}`,
      monitorUrl: flags["monitor-url"]!,
      ...(flags.monitorTls ? { monitorTls: flags.monitorTls } : {}),
      ...(flags.monitorTls?.caFile ? { monitorCa: readFileSync(flags.monitorTls.caFile, "utf8") } : {}),
    },
  });
  managers.push(manager);
  await manager.start();
  return manager;
}

async function entriesOf(name: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of monitor.client.listAudit()) if (e.subject.name === name) out.push(e);
  return out;
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
});
