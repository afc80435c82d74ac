// Serving TLS by default (operator --serving-tls-issuer) on the real control plane, with cert-manager's own CRDs
// and no cert-manager controller: the test plays cert-manager. The operator creates a Certificate per MedModel for
// its Services and reads only its Ready condition; the test issues a real openssl certificate for the
// Certificate's dnsNames into the Secret and sets Ready, and the Deployment switches to TLS with that Secret.
// Before Ready a new model has no Deployment (fail closed) and says CertificatePending; a model serving plain HTTP
// keeps serving plain until Ready; serving.plainHttp stays plain and has no Certificate.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateKind } from "../../operator/medmodel/issued-tls.ts";
import { type KubeObject, Kinds } from "../../operator/runtime/index.ts";
import { installCertManagerCrds } from "../cluster/cert-manager.ts";
import { type FreshNamespace, freshNamespace } from "../cluster/client.ts";
import { makePki, type Pki } from "../support/certs.ts";
import {
  condition,
  FAST,
  getModel,
  type Harness,
  harness,
  installCrds,
  listNames,
  manifest,
  waitFor,
} from "./medmodel-support.ts";

const ISSUER = { kind: "ClusterIssuer" as const, name: "test-serving-ca", group: "cert-manager.io" };

let ns: FreshNamespace;
let h: Harness;
let pki: Pki;

beforeAll(async () => {
  await installCrds();
  await installCertManagerCrds();
  pki = makePki();
  ns = await freshNamespace("mm-issued-tls");
  h = harness(ns.name, FAST, { servingTlsIssuer: ISSUER });
  await h.start();
}, 400_000);

afterAll(async () => {
  await h?.stop();
  await ns?.delete();
  pki?.remove();
});

type Cert = KubeObject & {
  spec: { secretName: string; dnsNames: string[]; issuerRef: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
};
type Dep = KubeObject & {
  spec: {
    template: {
      spec: {
        containers: { name: string; args: string[]; readinessProbe: { httpGet: { scheme?: string } } }[];
        volumes: { name: string; secret?: { secretName: string; items: { key: string }[] } }[];
      };
    };
  };
};
type Svc = KubeObject & { spec: { ports: { name: string; port: number }[] } };

const spec = (serving: Record<string, unknown> = {}) => ({
  activeVersion: "v1",
  rollout: { strategy: "BlueGreen", requireValidation: false },
  serving: { replicas: 1, ...serving },
});
const certificate = (model: string) =>
  h.user.get<Cert>(CertificateKind, { namespace: ns.name, name: `${model}-serving-tls` });
const deployment = (name: string) => h.user.get<Dep>(Kinds.Deployment, { namespace: ns.name, name });
const servicePort = async (name: string) =>
  (await h.user.get<Svc>(Kinds.Service, { namespace: ns.name, name }))?.spec.ports[0]?.port;
const tlsArgs = (d: Dep | undefined) =>
  d?.spec.template.spec.containers.find((c) => c.name === "sidecar")?.args.includes("--tls-cert");

/** What cert-manager does: the Secret with a certificate for the Certificate's names, then Ready=True. */
async function issue(cert: Cert): Promise<void> {
  const name = cert.metadata!.name!;
  const files = pki.issue(`${ns.name}-${name}`, { server: true, dnsNames: cert.spec.dnsNames });
  // The certificate really covers the names clients use (openssl's own host check).
  for (const host of cert.spec.dnsNames.slice(0, 4)) {
    const out = execFileSync("openssl", ["x509", "-noout", "-checkhost", host, "-in", files.cert]).toString();
    expect(out, host).toMatch(/does match/);
  }
  const b64 = (p: string) => pki.read(p).toString("base64");
  await h.user.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: cert.spec.secretName, namespace: ns.name },
    type: "kubernetes.io/tls",
    data: { "tls.crt": b64(files.cert), "tls.key": b64(files.key), "ca.crt": b64(pki.caCert) },
  } as KubeObject);
  await h.user.applyStatus({
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name, namespace: ns.name },
    status: {
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Ready",
          message: "Certificate is up to date and has not expired",
          observedGeneration: cert.metadata!.generation,
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
      ],
    },
  } as KubeObject);
}

describe("MedModel serving TLS by default (--serving-tls-issuer)", () => {
  it("a new model: a Certificate for its Services, no Deployment and CertificatePending until Ready, then HTTPS", async () => {
    await h.user.apply(manifest("chest", ns.name, spec()));
    const cert = await waitFor(async () => (await certificate("chest")) ?? undefined, 30_000);
    expect(cert.spec.secretName).toBe("chest-serving-tls");
    expect(cert.spec.issuerRef).toEqual(ISSUER);
    for (const svc of ["chest", "chest-v1", "chest-v2"])
      expect(cert.spec.dnsNames).toEqual(
        expect.arrayContaining([svc, `${svc}.${ns.name}.svc`, `${svc}.${ns.name}.svc.cluster.local`]),
      );
    expect(cert.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "MedModel",
      name: "chest",
      controller: true,
    });

    const pending = await waitFor(async () => {
      const m = await getModel(h, ns.name, "chest");
      return condition(m, "Ready")?.reason === "CertificatePending" ? m : undefined;
    }, 30_000);
    expect(condition(pending, "Ready")?.status).toBe("False");
    expect(condition(pending, "Reconciling")).toMatchObject({ status: "True", reason: "CertificatePending" });
    expect((condition(pending, "Ready") as { message?: string } | undefined)?.message).toContain(
      "chest-serving-tls",
    );
    // Fail closed: nothing serves, not even plain HTTP, while the certificate is pending.
    expect(await listNames(h, Kinds.Deployment, ns.name, "chest")).toEqual([]);

    await issue(cert);
    const d = await waitFor(async () => {
      const x = await deployment("chest-v1");
      return tlsArgs(x) ? x : undefined;
    }, 30_000);
    const pod = d.spec.template.spec;
    expect(pod.volumes.find((v) => v.name === "serving-tls")?.secret).toMatchObject({
      secretName: "chest-serving-tls",
      items: [{ key: "tls.crt" }, { key: "tls.key" }],
    });
    expect(pod.containers[0]!.readinessProbe.httpGet.scheme).toBe("HTTPS");
    expect(pod.containers[0]!.args).toEqual(expect.arrayContaining(["--client-auth", "none"]));
    expect(await servicePort("chest")).toBe(443);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "chest");
      return condition(x, "Ready")?.reason !== "CertificatePending" ? x : undefined;
    }, 30_000);
    expect((m.status as { endpoint?: string }).endpoint).toBe(`https://chest.${ns.name}.svc/v2/models/chest`);
  });

  it("plainHttp stays plain with no Certificate; switched to the default it serves plain until Ready, then HTTPS", async () => {
    await h.user.apply(manifest("mesh", ns.name, spec({ plainHttp: true })));
    const plain = await waitFor(async () => (await deployment("mesh-v1")) ?? undefined, 30_000);
    expect(tlsArgs(plain)).toBe(false);
    expect(await servicePort("mesh")).toBe(80);
    expect(await certificate("mesh")).toBeUndefined();

    await h.user.apply(manifest("mesh", ns.name, spec()));
    const cert = await waitFor(async () => (await certificate("mesh")) ?? undefined, 30_000);
    const m = await waitFor(async () => {
      const x = await getModel(h, ns.name, "mesh");
      return condition(x, "Progressing")?.reason === "CertificatePending" ? x : undefined;
    }, 30_000);
    expect((condition(m, "Progressing") as { message?: string } | undefined)?.message).toContain(
      "serving plain HTTP until then",
    );
    // The old pods keep serving: same plain Deployment, Service still on 80.
    expect(tlsArgs(await deployment("mesh-v1"))).toBe(false);
    expect(await servicePort("mesh")).toBe(80);

    await issue(cert);
    await waitFor(async () => tlsArgs(await deployment("mesh-v1")), 30_000);
    // One reconcile applies the Deployment before the Services, so the port may turn a moment later.
    await waitFor(async () => (await servicePort("mesh")) === 443, 30_000);
    const endpoint = await waitFor(async () => {
      const x = await getModel(h, ns.name, "mesh");
      const e = (x?.status as { endpoint?: string } | undefined)?.endpoint;
      return e?.startsWith("https://") ? e : undefined;
    }, 30_000);
    expect(endpoint).toBe(`https://mesh.${ns.name}.svc/v2/models/mesh`);

    // Its own Secret again: the Certificate goes (the model keeps serving TLS from the named Secret).
    await h.user.apply(manifest("mesh", ns.name, spec({ tls: { secretName: "mesh-own-tls" } })));
    await waitFor(async () => (await certificate("mesh")) === undefined, 30_000);
    const own = await waitFor(async () => {
      const x = await deployment("mesh-v1");
      const v = x?.spec.template.spec.volumes.find((y) => y.name === "serving-tls");
      return v?.secret?.secretName === "mesh-own-tls" ? x : undefined;
    }, 30_000);
    expect(tlsArgs(own)).toBe(true);
  });
});
