// spec.serving.tls on the real control plane (kube-apiserver, kwok nodes): the API server accepts the field and
// the operator builds a Deployment that mounts the TLS Secret read-only (only the keys the mode reads), hands the
// sidecar its TLS flags and probes over HTTPS, and Services that speak https on 443; the operator's admission
// re-check (--allowed-tls-secrets) refuses a MedModel naming a Secret the hospital did not list, and builds nothing
// of it. The CEL rules on the field's combinations are checked on the same API server by crds-agreement.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import {
  condition,
  eventsFor,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  listNames,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

let ns: FreshNamespace;
let h: Harness;

beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace("mm-serving-tls");
  h = harness(ns.name, FAST, { admission: { tlsSecrets: ["chest-tls", "chest-token"] } });
  await h.start();
});

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
});

interface Probe {
  httpGet: { path: string; port: string; scheme?: string };
}
type Dep = KubeObject & {
  spec: {
    template: {
      spec: {
        containers: {
          name: string;
          args: string[];
          ports: { name: string; containerPort: number }[];
          volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
          startupProbe: Probe;
          livenessProbe: Probe;
          readinessProbe: Probe;
        }[];
        volumes: {
          name: string;
          secret?: { secretName: string; items: { key: string; path: string }[]; optional?: boolean };
        }[];
      };
    };
  };
};
type Svc = KubeObject & {
  spec: { ports: { name: string; port: number; targetPort: string; appProtocol?: string }[] };
};

const spec = (tls: Record<string, unknown>) => ({
  activeVersion: "v1",
  rollout: { strategy: "BlueGreen", requireValidation: false },
  serving: { replicas: 1, tls },
});
const flag = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const deployment = (name: string) => h.user.get<Dep>(Kinds.Deployment, { namespace: ns.name, name });

describe("MedModel spec.serving.tls", () => {
  it("mtls: the Deployment mounts the Secret's tls.crt, tls.key and ca.crt, passes the flags, probes over HTTPS", async () => {
    await h.user.apply(manifest("chest", ns.name, spec({ secretName: "chest-tls", clientAuth: "mtls" })));
    const d = await waitFor(async () => (await deployment("chest-v1")) ?? undefined, 30_000);
    const pod = d.spec.template.spec;
    const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
    expect(flag(sidecar.args, "--tls-cert")).toBe("/var/run/secrets/medmlops/tls/tls.crt");
    expect(flag(sidecar.args, "--tls-key")).toBe("/var/run/secrets/medmlops/tls/tls.key");
    expect(flag(sidecar.args, "--client-auth")).toBe("mtls");
    expect(flag(sidecar.args, "--tls-client-ca")).toBe("/var/run/secrets/medmlops/tls/ca.crt");
    const vol = pod.volumes.find((v) => v.secret?.secretName === "chest-tls")!;
    expect(vol.secret!.items.map((i) => i.key)).toEqual(["tls.crt", "tls.key", "ca.crt"]);
    expect(vol.secret!.optional).toBe(false);
    expect(sidecar.volumeMounts.find((m) => m.name === vol.name)).toMatchObject({
      mountPath: "/var/run/secrets/medmlops/tls",
      readOnly: true,
    });
    expect(sidecar.ports.map((p) => [p.name, p.containerPort])).toEqual([
      ["https", 8080],
      ["metrics", 9090],
    ]);
    for (const p of [sidecar.startupProbe, sidecar.livenessProbe, sidecar.readinessProbe])
      expect(p.httpGet).toMatchObject({ port: "https", scheme: "HTTPS" });

    for (const name of ["chest", "chest-v1"]) {
      const svc = await waitFor(
        async () => (await h.user.get<Svc>(Kinds.Service, { namespace: ns.name, name })) ?? undefined,
        30_000,
      );
      expect(svc.spec.ports).toEqual([
        expect.objectContaining({ name: "https", port: 443, targetPort: "https", appProtocol: "https" }),
      ]);
    }
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return (x?.status as { endpoint?: string } | undefined)?.endpoint ? x : undefined;
    }, 30_000);
    expect((m.status as { endpoint: string }).endpoint).toBe(`https://chest.${ns.name}.svc/v2/models/chest`);
  });

  it("token: switching clientAuth mounts the token Secret's one key and passes --auth-token-file", async () => {
    await h.user.apply(
      manifest(
        "chest",
        ns.name,
        spec({
          secretName: "chest-tls",
          clientAuth: "token",
          tokenSecretRef: { name: "chest-token", key: "bearer" },
        }),
      ),
    );
    const d = await waitFor(async () => {
      const x = await deployment("chest-v1");
      const args = x?.spec.template.spec.containers[0]?.args ?? [];
      return flag(args, "--client-auth") === "token" ? x : undefined;
    }, 30_000);
    const pod = d.spec.template.spec;
    const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
    expect(flag(sidecar.args, "--auth-token-file")).toBe("/var/run/secrets/medmlops/token/token");
    expect(sidecar.args).not.toContain("--tls-client-ca");
    expect(pod.volumes.find((v) => v.secret?.secretName === "chest-token")?.secret?.items).toEqual([
      { key: "bearer", path: "token" },
    ]);
    expect(
      pod.volumes.find((v) => v.secret?.secretName === "chest-tls")?.secret?.items.map((i) => i.key),
    ).toEqual(["tls.crt", "tls.key"]);
  });

  it("the re-check refuses a TLS Secret the hospital did not list: condition, one Event, no Deployment", async () => {
    await h.user.apply(manifest("rogue", ns.name, spec({ secretName: "payroll-tls" })));
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "rogue");
      return condition(x, "Ready")?.reason === "PolicyRefused" ? x : undefined;
    }, 30_000);
    expect(condition(m, "Ready")?.status).toBe("False");
    const events = await waitFor(async () => {
      const e = (await eventsFor(h, ns.name, "rogue")).filter((x) => x.reason === "PolicyRefused");
      return e.length > 0 ? e : undefined;
    }, 15_000);
    expect(events).toHaveLength(1);
    expect(events[0]!.note).toContain("spec.serving.tls.secretName");
    expect(events[0]!.note).not.toContain("payroll");
    expect(await listNames(h, Kinds.Deployment, ns.name, "rogue")).toEqual([]);
  });
});
