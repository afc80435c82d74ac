// The contract between the MedModel controller and the programs its pods run, checked with the programs' own
// parsers: every argument list the Deployment builder emits must parse in `medmlops sidecar` and `medmlops
// fetch-model` (a flag a parser rejects fails here, not in a hospital's CrashLoopBackOff), the paths they are given
// must be where the pod mounts the files, and the ConfigMap's control file and signatures must be what the
// sidecar's readers accept.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DeidOptionSchema } from "../../crds/common.ts";
import { DEFAULT_KEY_DIR, loadKey } from "../../deid/key.ts";
import { parseFlags as parseSidecarFlags, readSignatureFile } from "../../inference-sidecar/cli.ts";
import { caseIdKeyFromEnv } from "../../inference-sidecar/case-id.ts";
import { parseControl } from "../../inference-sidecar/control.ts";
import { parseFetchFlags } from "../../operator/fetch/cli.ts";
import {
  buildConfigMap,
  buildDeployment,
  CONTROL_KEY,
  PATHS,
  signatureKey,
} from "../../operator/medmodel/children.ts";
import { decide } from "../../operator/medmodel/decide.ts";
import { medModel } from "../../operator/medmodel/fixtures.ts";

interface Container {
  name: string;
  command: string[];
  args: string[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; configMap?: { name: string; items: { key: string; path: string }[] } }[];
}

const tmp = mkdtempSync(join(tmpdir(), "medmlops-contract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Models that between them make the builder emit every flag it can, at the bounds the API allows. */
const variants: [string, Record<string, unknown>][] = [
  ["defaults (cpu, https source)", {}],
  [
    "gpu, explicit providers, largest batching, pvc source",
    {
      serving: {
        replicas: 3,
        device: { type: "gpu", gpuCount: 2 },
        executionProviders: ["cuda", "cpu"],
        batching: { maxBatchSize: 256, maxQueueDelayMs: 1000 },
      },
    },
  ],
  [
    "DataToModel with every PS3.15 option, no batching delay, configmap source",
    {
      deid: { mode: "DataToModel", options: DeidOptionSchema.options.slice(0, 12) },
      serving: { batching: { maxBatchSize: 1, maxQueueDelayMs: 0 } },
      versions: [
        { name: "v1", source: { uri: "configmap://tiny-model/model.onnx", sha256: "a".repeat(64) } },
        { name: "release-2026-01", source: { uri: "pvc://models/chest/v2.onnx", sha256: "b".repeat(64) } },
      ],
    },
  ],
  ["ModelToData without options", { deid: { mode: "ModelToData", options: [] } }],
];

/** Where a container sees a file of a ConfigMap volume: mountPath/items[].path for the key. */
function mountedPath(pod: PodSpec, c: Container, key: string): string | undefined {
  for (const m of c.volumeMounts) {
    const item = pod.volumes.find((v) => v.name === m.name)?.configMap?.items.find((i) => i.key === key);
    if (item) return `${m.mountPath}/${item.path}`;
  }
  return undefined;
}

describe("operator → sidecar and fetch-model contract", () => {
  for (const [label, over] of variants) {
    describe(label, () => {
      const model = medModel(over);
      const decision = decide({
        model: { name: "chest", namespace: "rad", generation: 1 },
        spec: model.spec,
        previous: {},
        health: {},
        verdicts: {},
        now: Date.parse("2026-01-01T00:00:00Z"),
      });

      for (const version of model.spec.versions) {
        const dep = buildDeployment(model, version, 1, { sidecarImage: "img:1" }) as {
          spec: { template: { spec: PodSpec } };
        };
        const pod = dep.spec.template.spec;
        const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
        const fetch = pod.initContainers.find((c) => c.name === "fetch-model")!;

        it(`${version.name}: the sidecar parses every argument the builder emits`, () => {
          expect(sidecar.command).toEqual(["medmlops"]);
          expect(sidecar.args[0]).toBe("sidecar");
          const f = parseSidecarFlags(sidecar.args.slice(1));
          expect(f.name).toBe("chest");
          expect(f.version).toBe(version.name);
          expect(f.sha256).toBe(version.source.sha256);
          expect(f["max-batch-size"]).toBe(model.spec.serving.batching.maxBatchSize);
          expect(f["max-queue-delay-ms"]).toBe(model.spec.serving.batching.maxQueueDelayMs);
          expect(f["deid-mode"]).toBe(model.spec.deid.mode);
          expect(f["deid-option"]).toEqual(model.spec.deid.options);
          const ports = (sidecar as unknown as { ports: { name: string; containerPort: number }[] }).ports;
          const named = (n: string) => ports.find((p) => p.name === n)?.containerPort;
          // The port the probes and Services name, and the port the PodMonitor scrapes, are where the sidecar
          // listens — two different ports, so the NetworkPolicy can tell inference from the scrape.
          expect(f.port).toBe(named("http"));
          expect(f["metrics-port"]).toBe(named("metrics"));
          expect(named("metrics")).toBeGreaterThan(0);
          expect(f["metrics-port"]).not.toBe(f.port);
          const probes = sidecar as unknown as Record<string, { httpGet: { port: string } }>;
          for (const p of ["startupProbe", "livenessProbe", "readinessProbe"])
            expect(probes[p]?.httpGet.port, p).toBe("http");
        });

        it(`${version.name}: fetch-model parses its arguments and writes where the sidecar reads`, () => {
          expect(fetch.command).toEqual(["medmlops"]);
          expect(fetch.args[0]).toBe("fetch-model");
          const f = parseFetchFlags(fetch.args.slice(1));
          expect(f.uri).toBe(version.source.uri);
          expect(f.sha256).toBe(version.source.sha256);
          expect(f.out).toBe(parseSidecarFlags(sidecar.args.slice(1)).model);
          // Both containers mount the same volume at the model's directory.
          const modelVolume = (c: Container) =>
            c.volumeMounts.find((m) => m.mountPath === PATHS.modelDir)?.name;
          expect(modelVolume(fetch)).toBeDefined();
          expect(modelVolume(fetch)).toBe(modelVolume(sidecar));
        });

        it(`${version.name}: --signature and --control-file name the files the pod mounts`, () => {
          const f = parseSidecarFlags(sidecar.args.slice(1));
          expect(f.signature).toBe(mountedPath(pod, sidecar, signatureKey(version.name)));
          expect(f["control-file"]).toBe(mountedPath(pod, sidecar, CONTROL_KEY));
        });

        it(`${version.name}: the ConfigMap's signature is what the sidecar's signature reader accepts`, () => {
          const cm = buildConfigMap(model, decision) as { data: Record<string, string> };
          const file = join(tmp, `${label.length}-${version.name}.json`);
          writeFileSync(file, cm.data[signatureKey(version.name)]!);
          const sig = readSignatureFile(file);
          expect(sig.inputs.map((i) => i.name)).toEqual(model.spec.signature.inputs.map((i) => i.name));
        });
      }
    });
  }

  it("the control file, serving and suspended (with the longest who and why), is what the control reader accepts", () => {
    for (const suspend of [false, true]) {
      const model = medModel({ suspend, suspendReason: "r".repeat(1024) });
      const decision = decide({
        model: {
          name: "chest",
          namespace: "rad",
          generation: 1,
          annotations: { "medmlops.io/suspended-by": "s".repeat(2000) },
        },
        spec: model.spec,
        previous: {},
        health: {},
        verdicts: {},
        now: 0,
      });
      const cm = buildConfigMap(model, decision) as { data: Record<string, string> };
      const parsed = parseControl(cm.data[CONTROL_KEY]!);
      expect(parsed).toEqual({ ok: true, state: decision.control });
      expect(decision.control.suspended).toBe(suspend);
    }
  });

  describe("key Secrets: each purpose reads its own Secret, and a mode sees only the keys it needs", () => {
    interface SecretVolume {
      name: string;
      secret?: { secretName: string; items: { key: string; path: string }[]; optional?: boolean };
    }
    /**
     * Plays the kubelet: writes each Secret volume's projected items under `root` + mountPath (a Secret in
     * `missing` does not exist: an optional volume is then empty), and gives the sidecar's own key readers the
     * container's environment with its paths under `root` — including deid/key.ts' default Secret folder.
     */
    function mountKeys(
      model: ReturnType<typeof medModel>,
      monitorUrl: string | undefined,
      missing: string[] = [],
    ) {
      const dep = buildDeployment(model, model.spec.versions[0]!, 1, {
        sidecarImage: "img:1",
        monitorUrl,
      }) as {
        spec: { template: { spec: Omit<PodSpec, "volumes"> & { volumes: SecretVolume[] } } };
      };
      const pod = dep.spec.template.spec;
      const sidecar = pod.containers.find((c) => c.name === "sidecar")! as Container & {
        env: { name: string; value: string }[];
      };
      const root = mkdtempSync(join(tmp, "pod-"));
      const contents: Record<string, string> = {};
      for (const m of sidecar.volumeMounts) {
        const v = pod.volumes.find((x) => x.name === m.name);
        if (!v?.secret || missing.includes(v.secret.secretName)) continue;
        mkdirSync(join(root, m.mountPath), { recursive: true });
        for (const item of v.secret.items) {
          contents[v.secret.secretName] ??= randomBytes(32).toString("hex");
          writeFileSync(join(root, m.mountPath, item.path), contents[v.secret.secretName]!);
        }
      }
      const env: NodeJS.ProcessEnv = { MEDMLOPS_DEID_KEY_DIR: join(root, DEFAULT_KEY_DIR) };
      for (const e of sidecar.env) env[e.name] = e.value.startsWith("/") ? join(root, e.value) : e.value;
      const secretsInPod = pod.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : [])).sort();
      return { env, contents, secretsInPod, optional: pod.volumes.filter((v) => v.secret?.optional) };
    }

    it("DataToModel: the deid key from the deid Secret, the case id key from its own Secret, never each other's", () => {
      const { env, contents, secretsInPod } = mountKeys(medModel(), undefined);
      expect(secretsInPod).toEqual(["medmlops-case-id-key", "medmlops-deid-key"]);
      const deid = new TextDecoder().decode(loadKey({ env }).secret);
      const caseKey = caseIdKeyFromEnv(env);
      expect(deid).toBe(contents["medmlops-deid-key"]);
      expect(caseKey?.key.toString("utf8")).toBe(contents["medmlops-case-id-key"]);
      expect(caseKey?.persistent).toBe(true);
      expect(caseKey?.key.toString("utf8")).not.toBe(deid);
    });

    it("ModelToData without a monitor: no deid key reachable (not even in its default folder), case ids from their Secret", () => {
      const { env, contents, secretsInPod } = mountKeys(
        medModel({ deid: { mode: "ModelToData", options: [] } }),
        undefined,
      );
      expect(secretsInPod).toEqual(["medmlops-case-id-key"]);
      expect(() => loadKey({ env })).toThrow(/key/i);
      expect(caseIdKeyFromEnv(env)?.key.toString("utf8")).toBe(contents["medmlops-case-id-key"]);
    });

    it("ModelToData with a monitor: the deid key (for the records' consent pseudonym) and the case id key, both optional", () => {
      const model = medModel({ deid: { mode: "ModelToData", options: [] } });
      const { env, contents, optional } = mountKeys(model, "http://monitor:8090");
      expect(optional.map((v) => v.name).sort()).toEqual(["case-id-key", "deid-key"]);
      expect(new TextDecoder().decode(loadKey({ env }).secret)).toBe(contents["medmlops-deid-key"]);
      expect(caseIdKeyFromEnv(env)?.key.toString("utf8")).toBe(contents["medmlops-case-id-key"]);
    });

    it("a missing case-id Secret leaves the sidecar serving without case ids (null), in either mode", () => {
      for (const mode of ["DataToModel", "ModelToData"]) {
        const { env } = mountKeys(medModel({ deid: { mode, options: [] } }), undefined, [
          "medmlops-case-id-key",
        ]);
        expect(caseIdKeyFromEnv(env)).toBeNull();
      }
    });
  });
});

describe("operator → sidecar contract: monitor records", () => {
  it("a site at the CRD's bounds parses in the sidecar, with the monitor flags beside it", () => {
    const site = `s${"x".repeat(61)}9`; // 63 characters, the CRD's maximum
    const model = medModel({ site });
    const dep = buildDeployment(model, model.spec.versions[0]!, 1, {
      sidecarImage: "img:1",
      monitorUrl: "http://medmlops-monitor.medmlops-system:8090",
    }) as { spec: { template: { spec: PodSpec } } };
    const sidecar = dep.spec.template.spec.containers.find((c) => c.name === "sidecar")!;
    const f = parseSidecarFlags(sidecar.args.slice(1));
    expect(f.site).toBe(site);
    expect(f["monitor-url"]).toBe("http://medmlops-monitor.medmlops-system:8090");
    expect(f["monitor-namespace"]).toBe(model.metadata.namespace);
  });
});

describe("operator → sidecar contract: spec.serving.tls", () => {
  interface TlsPod {
    containers: (Container & {
      ports: { name: string; containerPort: number }[];
      readinessProbe: { httpGet: { port: string; scheme?: string } };
      livenessProbe: { httpGet: { port: string; scheme?: string } };
      startupProbe: { httpGet: { port: string; scheme?: string } };
    })[];
    volumes: { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[];
  }
  /** Where the sidecar sees each key of the Secret `secretName`: mountPath/items[].path. */
  function secretFiles(pod: TlsPod, c: Container, secretName: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of c.volumeMounts) {
      const v = pod.volumes.find((x) => x.name === m.name);
      if (v?.secret?.secretName !== secretName) continue;
      for (const i of v.secret.items) out[i.key] = `${m.mountPath}/${i.path}`;
    }
    return out;
  }
  const tokenRef = { name: "chest-token", key: "bearer" };
  for (const tls of [
    { secretName: "chest-tls" },
    { secretName: "chest-tls", clientAuth: "mtls" },
    { secretName: "chest-tls", clientAuth: "token", tokenSecretRef: tokenRef },
  ]) {
    it(`${JSON.stringify(tls)}: the sidecar's own parser accepts the flags, and they name the mounted Secret keys`, () => {
      const model = medModel({ serving: { tls } });
      const dep = buildDeployment(model, model.spec.versions[0]!, 1, { sidecarImage: "img:1" }) as {
        spec: { template: { spec: TlsPod } };
      };
      const pod = dep.spec.template.spec;
      const sidecar = pod.containers.find((c) => c.name === "sidecar")!;
      // No MEDMLOPS_TLS_* from the test's environment: the flags alone must be complete.
      const { security } = parseSidecarFlags(sidecar.args.slice(1), {});
      const files = secretFiles(pod, sidecar, "chest-tls");
      const mode = model.spec.serving.tls!.clientAuth;
      expect(security.clientAuth).toBe(mode);
      expect(security.tls).toEqual({
        certFile: files["tls.crt"],
        keyFile: files["tls.key"],
        ...(mode === "mtls" ? { clientCaFile: files["ca.crt"] } : {}),
      });
      // Only the keys the mode reads are projected.
      expect(Object.keys(files).sort()).toEqual(
        mode === "mtls" ? ["ca.crt", "tls.crt", "tls.key"] : ["tls.crt", "tls.key"],
      );
      if (mode === "token") expect(security.tokenFile).toBe(secretFiles(pod, sidecar, "chest-token").bearer);
      else expect(security.tokenFile).toBeUndefined();
      // The probes and the port the sidecar serves speak the scheme it serves.
      const port = sidecar.ports[0]!;
      for (const p of [sidecar.startupProbe, sidecar.livenessProbe, sidecar.readinessProbe])
        expect(p.httpGet).toMatchObject({ port: port.name, scheme: "HTTPS" });
    });
  }
});
