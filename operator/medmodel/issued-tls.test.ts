import { describe, expect, it } from "vitest";
import { MedModelSchema } from "../../crds/index.ts";
import { findCondition } from "../runtime/index.ts";
import { buildChildren, buildDeployment, buildStableService, buildVersionService } from "./children.ts";
import { decide } from "./decide.ts";
import { medModel, medModelManifest } from "./fixtures.ts";
import {
  buildCertificate,
  certificateDnsNames,
  certificateReady,
  effectiveModel,
  gatedStatus,
  type GateInput,
  observedScheme,
  type IssuerRef,
  tlsGate,
  wantsIssuedCertificate,
} from "./issued-tls.ts";
import { input } from "./test-support.ts";

const ISSUER: IssuerRef = { kind: "ClusterIssuer", name: "x-serving-ca", group: "cert-manager.io" };
const NOW = new Date("2026-12-05T12:00:00Z");
const ready = (status: "True" | "False", generation = 1, observedGeneration = generation) => ({
  apiVersion: "cert-manager.io/v1",
  kind: "Certificate",
  metadata: { name: "chest-serving-tls", namespace: "rad", generation },
  status: { conditions: [{ type: "Ready", status, observedGeneration }] },
});
const gate = (over: Partial<GateInput> = {}) =>
  tlsGate({
    serving: {},
    model: "chest",
    issuer: ISSUER,
    certificatesServed: true,
    certificate: undefined,
    observedScheme: undefined,
    ...over,
  });

describe("which models get an issued certificate", () => {
  it("by default with the issuer flag, never without it; own Secret and plainHttp opt out", () => {
    expect(wantsIssuedCertificate({}, ISSUER)).toBe(true);
    expect(wantsIssuedCertificate({}, undefined)).toBe(false);
    expect(wantsIssuedCertificate({ plainHttp: true }, ISSUER)).toBe(false);
    expect(wantsIssuedCertificate({ tls: { secretName: "chest-tls", clientAuth: "none" } }, ISSUER)).toBe(
      false,
    );
    // spec.serving.tls without secretName: issued, with the spec's clientAuth (needs the flag; the gate says so)
    expect(wantsIssuedCertificate({ tls: { clientAuth: "mtls" } }, ISSUER)).toBe(true);
    expect(wantsIssuedCertificate({ tls: { clientAuth: "mtls" } }, undefined)).toBe(true);
  });

  it("the schema takes tls without secretName and plainHttp alone, and refuses both together", () => {
    const parse = (serving: Record<string, unknown>) =>
      MedModelSchema.safeParse(medModelManifest("chest", "rad", { serving })).success;
    expect(parse({ tls: { clientAuth: "mtls" } })).toBe(true);
    expect(parse({ plainHttp: true })).toBe(true);
    expect(parse({ plainHttp: true, tls: { secretName: "chest-tls" } })).toBe(false);
  });
});

describe("the Certificate", () => {
  it("covers the stable and every per-version Service, short and qualified, from the operator's issuer", () => {
    const model = medModel();
    const cert = buildCertificate(model, ISSUER) as ReturnType<typeof buildCertificate> & {
      spec: Record<string, unknown>;
    };
    expect(cert.apiVersion).toBe("cert-manager.io/v1");
    expect(cert.metadata).toMatchObject({
      name: "chest-serving-tls",
      namespace: "rad",
      labels: { "app.kubernetes.io/managed-by": "medmlops", "medmlops.io/model": "chest" },
    });
    expect(cert.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "MedModel",
      name: "chest",
      controller: true,
    });
    expect(cert.spec["secretName"]).toBe("chest-serving-tls");
    expect(cert.spec["issuerRef"]).toEqual(ISSUER);
    const services = buildChildren(model, decide(input({ spec: model.spec as never })), {
      sidecarImage: "img",
    })
      .filter((c) => c.kind === "Service")
      .map((c) => c.metadata!.name!);
    expect(services.sort()).toEqual(["chest", "chest-v1", "chest-v2"]);
    expect(certificateDnsNames(model)).toEqual(
      services.sort().flatMap((s) => [s, `${s}.rad`, `${s}.rad.svc`, `${s}.rad.svc.cluster.local`]),
    );
  });

  it("is Ready only when cert-manager observed its current generation", () => {
    expect(certificateReady(undefined)).toBe(false);
    expect(certificateReady(ready("False"))).toBe(false);
    expect(certificateReady(ready("True"))).toBe(true);
    // Ready for the dnsNames before our last change: not yet
    expect(certificateReady(ready("True", 3, 2))).toBe(false);
  });
});

describe("the gate", () => {
  it("without issued certificates it changes nothing (today's behaviour)", () => {
    expect(gate({ issuer: undefined })).toEqual({ serve: "as-spec" });
    expect(gate({ serving: { plainHttp: true } })).toEqual({ serve: "as-spec" });
    expect(gate({ serving: { tls: { secretName: "own", clientAuth: "none" } } })).toEqual({
      serve: "as-spec",
    });
  });

  it("a new model waits for the certificate with no pod (fail closed), then serves HTTPS", () => {
    const g = gate();
    expect(g).toMatchObject({ serve: "hold", pending: { reason: "CertificatePending" } });
    expect(gate({ certificate: ready("False") }).serve).toBe("hold");
    expect(gate({ certificate: ready("True") })).toEqual({ serve: "issued" });
  });

  it("a model serving plain HTTP keeps serving plain until Ready; one serving TLS never goes back", () => {
    expect(gate({ observedScheme: "http" })).toMatchObject({
      serve: "plain",
      pending: { reason: "CertificatePending" },
    });
    expect(gate({ observedScheme: "http", certificate: ready("True") }).serve).toBe("issued");
    expect(gate({ observedScheme: "https", certificate: ready("True", 2, 1) }).serve).toBe("issued");
  });

  it("a held model's Services on 443 without a Deployment do not read as serving TLS", () => {
    const svc = (port: number) => ({ spec: { ports: [{ port }] } });
    expect(observedScheme(svc(443), 0)).toBeUndefined();
    expect(observedScheme(undefined, 2)).toBeUndefined();
    expect(observedScheme(svc(443), 1)).toBe("https");
    expect(observedScheme(svc(80), 1)).toBe("http");
    // so a held model stays held until Ready
    expect(gate({ observedScheme: observedScheme(svc(443), 0) }).serve).toBe("hold");
  });

  it("nothing to issue with: CertificateUnavailable (no issuer for tls without secretName; cert-manager missing)", () => {
    expect(gate({ issuer: undefined, serving: { tls: { clientAuth: "none" } } })).toMatchObject({
      serve: "hold",
      pending: { reason: "CertificateUnavailable" },
    });
    const g = gate({ certificatesServed: false });
    expect(g).toMatchObject({ serve: "hold", pending: { reason: "CertificateUnavailable" } });
    expect((g as { pending: { message: string } }).pending.message).toMatch(/install cert-manager/);
  });
});

describe("the model as it serves", () => {
  it("issued: the existing spec.serving.tls path with the issued Secret (Deployment, Services on 443, https endpoint)", () => {
    const model = medModel({ serving: { tls: { clientAuth: "mtls" } } });
    const served = effectiveModel(model, { serve: "issued" });
    const d = buildDeployment(served, served.spec.versions[0]!, 1, { sidecarImage: "img" }) as unknown as {
      spec: {
        template: {
          spec: {
            volumes: { name: string; secret?: { secretName: string; items: { key: string }[] } }[];
            containers: { args: string[] }[];
          };
        };
      };
    };
    const vol = d.spec.template.spec.volumes.find((v) => v.name === "serving-tls")!;
    expect(vol.secret!.secretName).toBe("chest-serving-tls");
    expect(vol.secret!.items.map((i) => i.key)).toEqual(["tls.crt", "tls.key", "ca.crt"]);
    expect(d.spec.template.spec.containers[0]!.args).toContain("--tls-cert");
    const svc = buildVersionService(served, "v1") as unknown as { spec: { ports: { port: number }[] } };
    expect(svc.spec.ports[0]!.port).toBe(443);
    expect(decide(input({ spec: served.spec as never })).status.endpoint).toMatch(/^https:\/\//);
    // the default (no spec.serving.tls): clientAuth none
    const byDefault = effectiveModel(medModel(), { serve: "issued" });
    expect(byDefault.spec.serving.tls).toEqual({ clientAuth: "none", secretName: "chest-serving-tls" });
  });

  it("plain while pending: no tls (port 80, http endpoint); the spec itself is not changed", () => {
    const model = medModel({ serving: { tls: { clientAuth: "none" } } });
    const pending = { reason: "CertificatePending", message: "m" } as const;
    const served = effectiveModel(model, { serve: "plain", pending });
    expect(served.spec.serving.tls).toBeUndefined();
    expect(model.spec.serving.tls).toEqual({ clientAuth: "none" });
    const svc = buildStableService(served, { servingVersion: "v1", splitTraffic: false }) as unknown as {
      spec: { ports: { port: number }[] };
    };
    expect(svc.spec.ports[0]!.port).toBe(80);
  });

  it("the status says why: Ready False and Reconciling while held, Stalled when nothing can issue", () => {
    const status = decide(input({ spec: medModel().spec as never })).status;
    const held = gatedStatus(
      status,
      { serve: "hold", pending: { reason: "CertificatePending", message: "wait" } },
      1,
      NOW,
    );
    expect(findCondition(held.conditions, "Ready")).toMatchObject({
      status: "False",
      reason: "CertificatePending",
    });
    expect(findCondition(held.conditions, "Progressing")).toMatchObject({
      status: "True",
      reason: "CertificatePending",
    });
    expect(findCondition(held.conditions, "Reconciling")).toMatchObject({
      status: "True",
      reason: "CertificatePending",
    });
    expect(findCondition(held.conditions, "Stalled")?.status).toBe("False");
    const stuck = gatedStatus(
      status,
      { serve: "hold", pending: { reason: "CertificateUnavailable", message: "no" } },
      1,
      NOW,
    );
    expect(findCondition(stuck.conditions, "Degraded")).toMatchObject({
      status: "True",
      reason: "CertificateUnavailable",
    });
    expect(findCondition(stuck.conditions, "Stalled")).toMatchObject({
      status: "True",
      reason: "CertificateUnavailable",
    });
    expect(gatedStatus(status, { serve: "issued" }, 1, NOW)).toBe(status);
  });
});
