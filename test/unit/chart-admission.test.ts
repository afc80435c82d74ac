// The chart hands the operator's admission re-check (MEDMLOPS_ALLOWED_*) the same lists its
// ValidatingAdmissionPolicy enforces, rendered offline with helm, so the two never disagree.
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseFlags, admissionOf } from "../../operator/cli.ts";
import { renderChartTemplate } from "../support/prometheus.ts";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read at arbitrary paths
const objects = (yaml: string): any[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS())
    .filter(Boolean);

async function both(set: string[]) {
  const policy = objects(await renderChartTemplate("templates/admission-policy.yaml", set)).find(
    (o) => o.kind === "ValidatingAdmissionPolicy",
  );
  const deploy = objects(await renderChartTemplate("templates/deployment.yaml", set)).find(
    (o) => o.kind === "Deployment",
  );
  const env: Record<string, string> = Object.fromEntries(
    deploy.spec.template.spec.containers[0].env
      .filter((e: { value?: string }) => e.value !== undefined)
      .map((e: { name: string; value: string }) => [e.name, e.value]),
  );
  const vars = Object.fromEntries(
    policy.spec.variables.map((v: { name: string; expression: string }) => [
      v.name,
      JSON.parse(v.expression),
    ]),
  );
  const flags = parseFlags([], env);
  if (flags === "help") throw new Error("help");
  return { vars, lists: admissionOf(flags) };
}

describe("chart admission: the policy and the operator's re-check from the same values", () => {
  for (const set of [
    [],
    [
      "admission.allowedImagePrefixes={registry.hospital.example/models/,ghcr.io/x@sha256:abc}",
      "admission.allowedKeySecrets={k1,k2}",
      "admission.allowedModelClaims={models,archive}",
      "admission.allowedTlsSecrets={chest-tls,chest-token}",
    ],
  ]) {
    it(`agree with ${JSON.stringify(set)}`, async () => {
      const { vars, lists } = await both(set);
      expect(lists).toEqual({
        imagePrefixes: vars["images"],
        keySecrets: vars["secrets"],
        caseIdKeySecrets: vars["caseIdSecrets"],
        modelClaims: vars["claims"],
        tlsSecrets: vars["tlsSecrets"],
      });
      expect(lists?.imagePrefixes?.length).toBeGreaterThan(0);
    });
  }

  it("no re-check when admission is disabled", async () => {
    const deploy = objects(
      await renderChartTemplate("templates/deployment.yaml", ["admission.enabled=false"]),
    ).find((o) => o.kind === "Deployment");
    const names = deploy.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
    expect(names.filter((n: string) => n.startsWith("MEDMLOPS_ALLOWED_"))).toEqual([]);
  });
});
