// The models' serving TLS as the chart renders it (offline helm): by default (modelServing.tls.mode cert-manager)
// the standard cert-manager CA chain, the operator's --serving-tls-issuer naming its CA ClusterIssuer (as the
// operator's own flag parser reads it), and rights on Certificates only where the operator has its other rights;
// the hospital's issuer instead of the chain; nothing of it with mode none; and no render at all when the cluster
// lacks cert-manager, with a message naming the two ways out.
import { describe, expect, it } from "vitest";
import { parseFlags } from "../../operator/cli.ts";
import { all, one, type Rendered, renderChart } from "../support/chart.ts";

const envOf = (objects: Rendered[]): Record<string, string> =>
  Object.fromEntries(
    (
      one(objects, "Deployment", "-operator").spec.template.spec.containers[0].env as {
        name: string;
        value?: string;
      }[]
    )
      .filter((e) => e.value !== undefined)
      .map((e) => [e.name, e.value as string]),
  );
const certManagerObjects = (objects: Rendered[]) =>
  objects.filter((o) => o.apiVersion === "cert-manager.io/v1");
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const certificateRules = (role: Rendered) =>
  (role.rules as Rule[]).filter((r) => r.apiGroups.includes("cert-manager.io"));

describe("chart: models serve HTTPS by default (modelServing.tls)", () => {
  it("default: a self-signed root, a CA Certificate in cert-manager's namespace, the CA ClusterIssuer the operator names", async () => {
    const objects = await renderChart([]);
    const cm = certManagerObjects(objects);
    expect(cm.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "Certificate/x-medmlops-serving-ca",
      "ClusterIssuer/x-medmlops-serving-ca",
      "ClusterIssuer/x-medmlops-serving-selfsigned",
    ]);
    const ca = one(cm, "Certificate", "-serving-ca");
    const selfSigned = one(cm, "ClusterIssuer", "-serving-selfsigned");
    const caIssuer = one(cm, "ClusterIssuer", "-serving-ca");
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    expect(ca.metadata.namespace).toBe("cert-manager");
    expect(ca.spec).toMatchObject({ isCA: true, secretName: "x-medmlops-serving-ca" });
    expect(ca.spec.issuerRef).toEqual({
      name: selfSigned.metadata.name,
      kind: "ClusterIssuer",
      group: "cert-manager.io",
    });
    // A ClusterIssuer reads its CA Secret from the cluster resource namespace: the CA Certificate's, by its name.
    expect(caIssuer.spec).toEqual({ ca: { secretName: ca.spec.secretName } });

    const env = envOf(objects);
    expect(env.MEDMLOPS_SERVING_TLS_ISSUER).toBe(`ClusterIssuer/${caIssuer.metadata.name}`);
    // The operator accepts exactly what the chart passes.
    expect(parseFlags([], env)).toMatchObject({
      "serving-tls-issuer": { kind: "ClusterIssuer", name: caIssuer.metadata.name, group: "cert-manager.io" },
    });
    const rules = certificateRules(one(objects, "ClusterRole"));
    expect(rules).toEqual([
      {
        apiGroups: ["cert-manager.io"],
        resources: ["certificates"],
        verbs: ["get", "list", "watch", "create", "patch", "delete"],
      },
    ]);
  });

  it("with watchNamespaces the Certificate rights are in each watched namespace's Role, nowhere else", async () => {
    const objects = await renderChart(["operator.watchNamespaces={rad,onc}"]);
    const roles = all(objects, "Role");
    const withCerts = roles.filter((r) => certificateRules(r).length > 0);
    expect(withCerts.map((r) => r.metadata.namespace).sort()).toEqual(["onc", "rad"]);
    expect(all(objects, "ClusterRole")).toEqual([]);
  });

  it("the hospital's issuer: no chain of our own, the operator names it", async () => {
    const objects = await renderChart([
      "modelServing.tls.issuerRef.name=radiology-ca",
      "modelServing.tls.issuerRef.kind=Issuer",
    ]);
    expect(certManagerObjects(objects)).toEqual([]);
    expect(envOf(objects).MEDMLOPS_SERVING_TLS_ISSUER).toBe("Issuer/radiology-ca");
    expect(certificateRules(one(objects, "ClusterRole"))).toHaveLength(1);
  });

  it("none: plain HTTP deliberately — no issuer, no Certificate rights, and no cert-manager needed", async () => {
    const objects = await renderChart(["modelServing.tls.mode=none"], { apiVersions: [] });
    expect(certManagerObjects(objects)).toEqual([]);
    expect(envOf(objects)).not.toHaveProperty("MEDMLOPS_SERVING_TLS_ISSUER");
    expect(certificateRules(one(objects, "ClusterRole"))).toEqual([]);
    const flags = parseFlags([], envOf(objects));
    expect(flags).not.toHaveProperty("serving-tls-issuer");
  });

  it("without cert-manager in the cluster the default refuses to render, naming both choices", async () => {
    const err = await renderChart([], { apiVersions: [] }).then(
      () => "rendered",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/does not serve cert-manager.io\/v1/);
    expect(err).toMatch(/install cert-manager/);
    expect(err).toMatch(/modelServing.tls.mode=none/);
    await expect(renderChart(["modelServing.tls.mode=plain"])).rejects.toThrow(/modelServing.tls.mode/);
  });
});
