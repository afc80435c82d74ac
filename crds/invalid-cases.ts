/**
 * Invalid manifests: each is an example from examples/ with one mistake, the field the error must name and the
 * message it must carry. The unit tests check zod rejects each one; the same table can drive the real API
 * server (every case here is also rejected there, by the OpenAPI schema or a CEL rule).
 */
import type { KindName } from "./index.ts";

// biome-ignore lint/suspicious/noExplicitAny: cases poke at arbitrary paths of parsed manifests
type Loose = any;
export type Mutate = (manifest: Loose) => void;

export interface InvalidCase {
  kind: KindName;
  name: string;
  mutate: Mutate;
  /** Field path as formatIssues prints it, e.g. spec.versions[1].source.sha256. */
  field: string;
  message: RegExp;
}

const rows = (kind: KindName, list: [string, Mutate, string, RegExp][]): InvalidCase[] =>
  list.map(([name, mutate, field, message]) => ({ kind, name, mutate, field, message }));

export const invalidCases: InvalidCase[] = [
  ...rows("MedModel", [
    [
      "activeVersion not among versions",
      (m) => (m.spec.activeVersion = "v9"),
      "spec.activeVersion",
      /one of spec.versions/,
    ],
    [
      "fallbackVersion not among versions",
      (m) => (m.spec.failover.fallbackVersion = "v0"),
      "spec.failover.fallbackVersion",
      /one of spec.versions/,
    ],
    [
      "case-id key is the de-identification key",
      (m) =>
        (m.spec.serving = {
          ...m.spec.serving,
          caseIdKeySecretRef: { name: "medmlops-deid-key", key: "hmac-key" },
        }),
      "spec.serving.caseIdKeySecretRef",
      /one purpose per key/,
    ],
    [
      "serving.tls token without tokenSecretRef",
      (m) => (m.spec.serving = { ...m.spec.serving, tls: { secretName: "chest-tls", clientAuth: "token" } }),
      "spec.serving.tls.tokenSecretRef",
      /needs tokenSecretRef/,
    ],
    [
      "serving.tls tokenSecretRef without clientAuth token",
      (m) =>
        (m.spec.serving = {
          ...m.spec.serving,
          tls: { secretName: "chest-tls", clientAuth: "mtls", tokenSecretRef: { name: "t", key: "token" } },
        }),
      "spec.serving.tls.tokenSecretRef",
      /only used with clientAuth token/,
    ],
    [
      "serving.tls names the de-identification key Secret",
      (m) => (m.spec.serving = { ...m.spec.serving, tls: { secretName: "medmlops-deid-key" } }),
      "spec.serving.tls",
      /one purpose per Secret/,
    ],
    [
      "serving.tls token from the case-id key Secret",
      (m) =>
        (m.spec.serving = {
          ...m.spec.serving,
          tls: {
            secretName: "chest-tls",
            clientAuth: "token",
            tokenSecretRef: { name: "medmlops-case-id-key", key: "token" },
          },
        }),
      "spec.serving.tls",
      /one purpose per Secret/,
    ],
    [
      "serving.tls clientAuth unknown",
      (m) => (m.spec.serving = { ...m.spec.serving, tls: { secretName: "chest-tls", clientAuth: "basic" } }),
      "spec.serving.tls.clientAuth",
      /none|mtls|token|Invalid/,
    ],
    [
      "serving.plainHttp with serving.tls",
      (m) => (m.spec.serving = { ...m.spec.serving, plainHttp: true, tls: { clientAuth: "none" } }),
      "spec.serving.plainHttp",
      /exclude each other/,
    ],
    [
      "serving.tls without secretName, token from the de-identification key Secret",
      (m) =>
        (m.spec.serving = {
          ...m.spec.serving,
          tls: { clientAuth: "token", tokenSecretRef: { name: "medmlops-deid-key", key: "hmac-key" } },
        }),
      "spec.serving.tls",
      /one purpose per Secret/,
    ],
    ["duplicate version names", (m) => (m.spec.versions[1].name = "v1"), "spec.versions", /unique/],
    [
      "version name not a DNS label",
      (m) => (m.spec.versions[0].name = "V_1"),
      "spec.versions[0].name",
      /DNS-1123/,
    ],
    [
      "sha256 not hex",
      (m) => (m.spec.versions[1].source.sha256 = "z".repeat(64)),
      "spec.versions[1].source.sha256",
      /64 lowercase hex/,
    ],
    [
      "sha256 short",
      (m) => (m.spec.versions[0].source.sha256 = "abc"),
      "spec.versions[0].source.sha256",
      /64/,
    ],
    [
      "missing sha256",
      (m) => delete m.spec.versions[0].source.sha256,
      "spec.versions[0].source.sha256",
      /expected string/,
    ],
    [
      "source scheme unknown",
      (m) => (m.spec.versions[0].source.uri = "s3://b/k"),
      "spec.versions[0].source.uri",
      /pvc:\/\//,
    ],
    [
      "weights not rising",
      (m) => (m.spec.rollout.steps[1].weight = 10),
      "spec.rollout.steps",
      /strictly rise/,
    ],
    [
      "weights not ending at 100",
      (m) => m.spec.rollout.steps.pop(),
      "spec.rollout.steps",
      /end at weight 100/,
    ],
    [
      "no intended use",
      (m) => delete m.spec.modelCard.intendedUse,
      "spec.modelCard.intendedUse",
      /expected string/,
    ],
    [
      "blank intended use",
      (m) => (m.spec.modelCard.intendedUse = " ".repeat(12)),
      "spec.modelCard.intendedUse",
      /must say what/,
    ],
    [
      "no lifetime",
      (m) => delete m.spec.modelCard.validUntil,
      "spec.modelCard.validUntil",
      /expected string/,
    ],
    [
      "lifetime not a date",
      (m) => (m.spec.modelCard.validUntil = "next year"),
      "spec.modelCard.validUntil",
      /date/,
    ],
    [
      "operating point above 1",
      (m) => (m.spec.signature.outputs[0].operatingPoint = 1.5),
      "spec.signature.outputs[0].operatingPoint",
      /1/,
    ],
    [
      "window without width",
      (m) => (m.spec.signature.inputs[0].dicom.window = { center: 40 }),
      "spec.signature.inputs[0].dicom.window",
      /center and width/,
    ],
    [
      "normalize per channel",
      (m) => (m.spec.signature.inputs[0].dicom.normalize.mean = [0.5, 0.5]),
      "spec.signature.inputs[0].dicom.normalize",
      /one value per channel/,
    ],
    [
      "bad duration",
      (m) => (m.spec.failover.unavailableAfter = "a minute"),
      "spec.failover.unavailableAfter",
      /duration/,
    ],
    ["negative replicas", (m) => (m.spec.serving.replicas = -1), "spec.serving.replicas", />=0/],
    ["unknown deid mode", (m) => (m.spec.deid.mode = "None"), "spec.deid.mode", /DataToModel/],
  ]),
  ...rows("ValidationPolicy", [
    ["sampling rate above 1", (p) => (p.spec.sampling.rate = 1.2), "spec.sampling.rate", /<=1/],
    ["sampling rate negative", (p) => (p.spec.sampling.rate = -0.1), "spec.sampling.rate", />=0/],
    [
      "floor above 1",
      (p) => (p.spec.metrics[0].min = 85),
      "spec.metrics[0].min",
      /min of a proportion metric must be within \[0, 1\]/,
    ],
    [
      "ceiling below 0",
      (p) => (p.spec.metrics[3].max = -0.1),
      "spec.metrics[3].max",
      /max of a proportion metric must be within \[0, 1\]/,
    ],
    [
      "metric without bound",
      (p) => delete p.spec.metrics[2].min,
      "spec.metrics[2]",
      /floor \(min\) or a ceiling/,
    ],
    ["min above max", (p) => (p.spec.metrics[0].max = 0.5), "spec.metrics[0].max", /min must not exceed max/],
    [
      "negative mae",
      (p) => p.spec.metrics.push({ name: "mae", max: -1 }),
      "spec.metrics[4]",
      /mae must not be negative/,
    ],
    [
      "drift check with both",
      (p) => (p.spec.drift.checks[0].pValue = 0.05),
      "spec.drift.checks[0]",
      /exactly one/,
    ],
    ["drift window with both", (p) => (p.spec.drift.window.cases = 500), "spec.drift.window", /not both/],
    [
      "retrain without template",
      (p) => delete p.spec.actions.retrainTemplate,
      "spec.actions.retrainTemplate",
      /retrainTemplate/,
    ],
    ["unknown metric", (p) => (p.spec.metrics[0].name = "f1"), "spec.metrics[0].name", /sensitivity/],
    ["unknown action", (p) => (p.spec.actions.onDrift = ["Panic"]), "spec.actions.onDrift[0]", /Alert/],
  ]),
  ...rows("RetrainJob", [
    ["candidate equal to base", (j) => (j.spec.candidateVersion = "v2"), "spec.candidateVersion", /differ/],
    [
      "since after until",
      (j) => (j.spec.dataset.since = "2027-01-01T00:00:00Z"),
      "spec.dataset.until",
      /before/,
    ],
    ["unknown purpose", (j) => (j.spec.dataset.purpose = "MARKETING"), "spec.dataset.purpose", /SYSDEV/],
    [
      "historical fraction above 1",
      (j) => (j.spec.dataset.historicalFraction = 2),
      "spec.dataset.historicalFraction",
      /<=1/,
    ],
    ["no trainer image", (j) => delete j.spec.trainer.image, "spec.trainer.image", /expected string/],
  ]),
  ...rows("ConsentRecord", [
    [
      "subject is digits only (an MRN)",
      (c) => (c.spec.subject.pseudonym = "1234567890"),
      "spec.subject.pseudonym",
      /raw medical record number/,
    ],
    [
      "subject is a name",
      (c) => (c.spec.subject.pseudonym = "Jane Doe"),
      "spec.subject.pseudonym",
      /looks like a name/,
    ],
    [
      "subject is hex without prefix",
      (c) => (c.spec.subject.pseudonym = "a".repeat(64)),
      "spec.subject.pseudonym",
      /pn: followed by 64/,
    ],
    [
      "subject is prefix with short hash",
      (c) => (c.spec.subject.pseudonym = "pn:abc123"),
      "spec.subject.pseudonym",
      /pn: followed by 64/,
    ],
    [
      "subject is uppercase hex",
      (c) => (c.spec.subject.pseudonym = `pn:${"A".repeat(64)}`),
      "spec.subject.pseudonym",
      /pn: followed by 64/,
    ],
  ]),
];
