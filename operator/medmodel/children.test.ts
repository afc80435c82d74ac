import { describe, expect, it } from "vitest";
import { buildDesired } from "./build.ts";
import {
  buildChildren,
  buildConfigMap,
  buildDeployment,
  buildStableService,
  nameProblems,
  sourceVolume,
} from "./children.ts";
import { medModel, SHA_V1 } from "./fixtures.ts";
import type { Decision } from "./types.ts";

const decision = (over: Partial<Decision> = {}): Decision => ({
  servingVersion: "v1",
  splitTraffic: false,
  replicas: { v1: 2, v2: 0 },
  status: {},
  events: [],
  consumeRetryAnnotation: false,
  control: { suspended: false },
  ...over,
});
const opts = { sidecarImage: "ghcr.io/medmlops/medmlops:0.1.0" };
// biome-ignore lint/suspicious/noExplicitAny: tests read deep into plain JSON objects
type Any = any;

describe("buildChildren", () => {
  const model = medModel();
  const children = buildChildren(model, decision(), opts) as Any[];

  it("builds the ConfigMap, one Deployment and Service per version, and the stable Service", () => {
    expect(children.map((c) => `${c.kind}/${c.metadata.name}`)).toEqual([
      "ConfigMap/chest-signature",
      "Deployment/chest-v1",
      "Deployment/chest-v2",
      "Service/chest-v1",
      "Service/chest-v2",
      "Service/chest",
      "PodDisruptionBudget/chest-v1",
    ]);
  });

  it("labels everything and gives every child a controller owner reference", () => {
    for (const c of children) {
      expect(c.metadata.namespace).toBe("rad");
      expect(c.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": "medmlops-model",
        "app.kubernetes.io/instance": "chest",
        "app.kubernetes.io/managed-by": "medmlops",
        "medmlops.io/model": "chest",
      });
      expect(c.metadata.ownerReferences).toEqual([
        {
          apiVersion: "medmlops.io/v1alpha1",
          kind: "MedModel",
          name: "chest",
          uid: model.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const perVersion = children.filter((c) => c.metadata.name.startsWith("chest-v"));
    for (const c of perVersion)
      expect(c.metadata.labels["medmlops.io/version"]).toBe(c.metadata.name.slice(6));
    const dep = children.find((c) => c.metadata.name === "chest-v2");
    expect(dep.spec.template.metadata.labels["medmlops.io/version"]).toBe("v2");
    const stable = children.find((c) => c.kind === "Service" && c.metadata.name === "chest");
    expect(stable.metadata.labels["medmlops.io/version"]).toBeUndefined();
  });

  it("sets replicas from the decision", () => {
    const deps = children.filter((c) => c.kind === "Deployment");
    expect(deps.map((d) => d.spec.replicas)).toEqual([2, 0]);
  });
});

describe("PodDisruptionBudget and spreading over nodes (replicas > 1)", () => {
  const pdbs = (m: ReturnType<typeof medModel>, d: Decision) =>
    (buildChildren(m, d, opts) as Any[]).filter((c) => c.kind === "PodDisruptionBudget");

  it("gives each version running more than one replica a budget of one unavailable pod over its pods", () => {
    const m = medModel({ serving: { replicas: 3 } });
    const [pdb, ...rest] = pdbs(m, decision({ replicas: { v1: 3, v2: 1 } }));
    expect(rest).toEqual([]);
    expect(pdb.apiVersion).toBe("policy/v1");
    expect(pdb.metadata.name).toBe("chest-v1");
    expect(pdb.metadata.labels["medmlops.io/version"]).toBe("v1");
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { "medmlops.io/model": "chest", "medmlops.io/version": "v1" } },
    });
    const dep = buildDeployment(m, m.spec.versions[0]!, 3, opts) as Any;
    expect(pdb.spec.selector).toEqual(dep.spec.selector);
    expect(pdbs(m, decision({ replicas: { v1: 2, v2: 2 } })).map((p) => p.metadata.name)).toEqual([
      "chest-v1",
      "chest-v2",
    ]);
  });

  it("gives no budget at one replica or none", () => {
    expect(pdbs(medModel(), decision({ replicas: { v1: 1, v2: 0 } }))).toEqual([]);
  });

  it("build keeps the budgets of versions above one replica and lets the others be pruned", () => {
    const m = medModel({ serving: { replicas: 2 } });
    const gw = { ...opts, gatewayApiServed: false };
    const two = buildDesired(m, decision({ replicas: { v1: 2, v2: 0 } }), gw);
    expect([...two.wantedDisruptionBudgets]).toEqual(["chest-v1"]);
    expect(two.children.find(([c]) => c.kind === "PodDisruptionBudget")?.[1].plural).toBe(
      "poddisruptionbudgets",
    );
    const one = buildDesired(m, decision({ replicas: { v1: 1, v2: 0 } }), gw);
    expect(one.wantedDisruptionBudgets.size).toBe(0);
  });

  it("spreads pods over nodes, best effort, only when the model runs more than one replica", () => {
    const m = medModel({ serving: { replicas: 2 } });
    const dep = buildDeployment(m, m.spec.versions[0]!, 2, opts) as Any;
    expect(dep.spec.template.spec.topologySpreadConstraints).toEqual([
      {
        topologyKey: "kubernetes.io/hostname",
        maxSkew: 1,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: dep.spec.selector.matchLabels },
      },
    ]);
    // A canary step or a warm standby at one replica keeps the template: its pods are not rolled for it.
    const standby = buildDeployment(m, m.spec.versions[1]!, 1, opts) as Any;
    expect(standby.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
    // A single-replica model's pod template is unchanged (no restart on upgrade).
    const single = buildDeployment(medModel(), m.spec.versions[0]!, 1, opts) as Any;
    expect(single.spec.template.spec).not.toHaveProperty("topologySpreadConstraints");
  });
});

describe("stable Service", () => {
  const model = medModel();
  it("selects the serving version", () => {
    const s = buildStableService(model, decision({ servingVersion: "v2" })) as Any;
    expect(s.spec.selector).toEqual({ "medmlops.io/model": "chest", "medmlops.io/version": "v2" });
    expect(s.spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
  });
  it("selects every running version while a canary splits traffic", () => {
    const s = buildStableService(model, decision({ splitTraffic: true })) as Any;
    expect(s.spec.selector).toEqual({ "medmlops.io/model": "chest" });
  });
});

describe("Deployment", () => {
  const v1 = (m = medModel()) => buildDeployment(m, m.spec.versions[0]!, 2, opts) as Any;

  it("sends the sidecars' records to the monitor only when the operator has one", () => {
    const sidecarArgs = (o: typeof opts & { monitorUrl?: string }) =>
      (buildChildren(medModel(), decision(), o) as Any[]).find((c) => c.kind === "Deployment").spec.template
        .spec.containers[0].args as string[];
    expect(sidecarArgs(opts)).not.toContain("--monitor-url");
    const args = sidecarArgs({ ...opts, monitorUrl: "http://medmlops-monitor.medmlops-system:8090" });
    expect(args.slice(args.indexOf("--monitor-url"))).toEqual([
      "--monitor-url",
      "http://medmlops-monitor.medmlops-system:8090",
      "--monitor-namespace",
      medModel().metadata.namespace,
    ]);
  });

  it("gives the pods the operator's monitor CA (ConfigMap key, volume, --monitor-ca) only for an https:// monitor", () => {
    const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const built = (o: typeof opts & { monitorUrl?: string; monitorCa?: string }) => {
      const all = buildChildren(medModel(), decision(), o) as Any[];
      const pod = all.find((c) => c.kind === "Deployment").spec.template.spec;
      return { cm: all.find((c) => c.kind === "ConfigMap"), pod, args: pod.containers[0].args as string[] };
    };
    const tls = built({
      ...opts,
      monitorUrl: "https://medmlops-monitor.medmlops-system:8090",
      monitorCa: CA,
    });
    expect(tls.cm.data["monitor-ca.crt"]).toBe(CA);
    expect(tls.args.slice(tls.args.indexOf("--monitor-ca"))).toEqual([
      "--monitor-ca",
      "/etc/medmlops/monitor-ca/ca.crt",
    ]);
    expect(tls.pod.volumes).toContainEqual({
      name: "monitor-ca",
      configMap: {
        name: `${medModel().metadata.name}-signature`,
        items: [{ key: "monitor-ca.crt", path: "ca.crt" }],
      },
    });
    expect(tls.pod.containers[0].volumeMounts).toContainEqual({
      name: "monitor-ca",
      mountPath: "/etc/medmlops/monitor-ca",
      readOnly: true,
    });
    // plain http, or no CA given: nothing of it in the pod (the template, and so the pods, stay as they were)
    for (const o of [
      { ...opts, monitorUrl: "http://m:8090", monitorCa: CA },
      { ...opts, monitorUrl: "https://m:8090" },
      { ...opts, monitorCa: CA },
    ]) {
      const b = built(o);
      expect(b.cm.data).not.toHaveProperty("monitor-ca.crt");
      expect(b.args).not.toContain("--monitor-ca");
      expect(b.pod.volumes.map((v: Any) => v.name)).not.toContain("monitor-ca");
    }
  });

  it("passes the MedModel's site to the sidecar's records, only with a monitor", () => {
    const withSite = medModel();
    withSite.spec.site = "north-campus";
    const sidecarArgs = (o: typeof opts & { monitorUrl?: string }) =>
      (buildChildren(withSite, decision(), o) as Any[]).find((c) => c.kind === "Deployment").spec.template
        .spec.containers[0].args as string[];
    const args = sidecarArgs({ ...opts, monitorUrl: "http://m:8090" });
    expect(args[args.indexOf("--site") + 1]).toBe("north-campus");
    expect(sidecarArgs(opts)).not.toContain("--site");
  });

  it("fetches and verifies the model in an init container, then runs the sidecar on it", () => {
    const pod = v1().spec.template.spec;
    expect(pod.initContainers[0]).toMatchObject({
      name: "fetch-model",
      image: opts.sidecarImage,
      command: ["medmlops"],
      args: [
        "fetch-model",
        "--uri",
        "pvc://models/chest/v1/model.onnx",
        "--sha256",
        SHA_V1,
        "--out",
        "/models/model.onnx",
      ],
    });
    const c = pod.containers[0];
    expect(c.args).toEqual([
      "sidecar",
      "--model",
      "/models/model.onnx",
      "--name",
      "chest",
      "--version",
      "v1",
      "--sha256",
      SHA_V1,
      "--signature",
      "/etc/medmlops/signature/signature.json",
      "--control-file",
      "/etc/medmlops/control/control.json",
      "--port",
      "8080",
      "--execution-providers",
      "cpu",
      "--metrics-port",
      "9090",
      "--max-batch-size",
      "8",
      "--max-queue-delay-ms",
      "5",
      "--deid-mode",
      "DataToModel",
      "--deid-option",
      "CleanDescriptors",
      "--deid-option",
      "RetainLongitudinalTemporalInformationModifiedDates",
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/v2/health/live", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/v2/health/ready", port: "http" });
    expect(c.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
  });

  it("mounts a pvc:// source read-only where fetch-model looks for it", () => {
    const pod = v1().spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: "src-0",
      persistentVolumeClaim: { claimName: "models", readOnly: true },
    });
    expect(pod.initContainers[0].volumeMounts).toContainEqual({
      name: "src-0",
      mountPath: "/sources/pvc/models",
      readOnly: true,
    });
  });

  it("runs as the image's non-root user with a read-only root filesystem and a scratch /tmp", () => {
    const pod = v1().spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    }
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("mounts the version's signature and the control file from the model's ConfigMap", () => {
    const pod = v1().spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: "signature",
      configMap: { name: "chest-signature", items: [{ key: "signature-v1.json", path: "signature.json" }] },
    });
    expect(pod.volumes).toContainEqual({
      name: "control",
      configMap: { name: "chest-signature", items: [{ key: "control.json", path: "control.json" }] },
    });
  });

  it("requests the GPU and carries scheduling constraints on device gpu", () => {
    const m = medModel({
      serving: {
        device: { type: "gpu", gpuCount: 2, gpuResourceName: "amd.com/gpu" },
        resources: { requests: { cpu: "1" }, limits: { memory: "4Gi" } },
        nodeSelector: { "hospital.example/gpu": "a100" },
        tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
        image: "registry.hospital.example/medmlops:cuda",
      },
    });
    const pod = v1(m).spec.template.spec;
    const c = pod.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: "1" }, limits: { memory: "4Gi", "amd.com/gpu": 2 } });
    expect(c.image).toBe("registry.hospital.example/medmlops:cuda");
    expect(pod.initContainers[0].image).toBe("registry.hospital.example/medmlops:cuda");
    expect(c.args).toContain("cuda,cpu");
    expect(pod.nodeSelector).toEqual({ "hospital.example/gpu": "a100" });
    expect(pod.tolerations).toEqual([{ key: "gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  it("restarts pods when the signature changes, not when the control file does", () => {
    const a = v1().spec.template.metadata.annotations["medmlops.io/signature-sha256"];
    const m = medModel();
    m.spec.signature.outputs[0]!.labels = ["normal", "pneumothorax"];
    const b = v1(m).spec.template.metadata.annotations["medmlops.io/signature-sha256"];
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });
});

describe("ConfigMap", () => {
  it("holds each version's signature and the control file", () => {
    const m = medModel();
    m.spec.versions[1]!.signature = {
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1], activation: "none" }],
    };
    const cm = buildConfigMap(m, decision({ control: { suspended: true, reason: "stopped" } })) as Any;
    expect(JSON.parse(cm.data["control.json"])).toEqual({ suspended: true, reason: "stopped" });
    expect(JSON.parse(cm.data["signature-v1.json"]).inputs[0].name).toBe("image");
    expect(JSON.parse(cm.data["signature-v2.json"]).inputs[0].name).toBe("x");
  });
});

describe("sourceVolume", () => {
  it.each([
    [
      "pvc://claim/a/b.onnx",
      { name: "src-0", persistentVolumeClaim: { claimName: "claim", readOnly: true } },
      "/sources/pvc/claim",
    ],
    ["configmap://cm/model.onnx", { name: "src-0", configMap: { name: "cm" } }, "/sources/configmap/cm"],
    ["https://host/x.onnx", undefined, undefined],
  ])("%s", (uri, volume, mountPath) => {
    const s = sourceVolume(uri, 0);
    expect(s.volume).toEqual(volume);
    expect(s.mount?.mountPath).toBe(mountPath);
  });
});

describe("nameProblems", () => {
  it("accepts ordinary names and refuses names that cannot name a Service", () => {
    expect(nameProblems(medModel())).toEqual([]);
    expect(nameProblems(medModel({}, "a".repeat(62)))).toHaveLength(2);
    expect(nameProblems(medModel({}, "x.y"))).toHaveLength(1);
  });
});

describe("de-identification settings reach the sidecar", () => {
  const podOf = (m: ReturnType<typeof medModel>): Any =>
    (buildDeployment(m, m.spec.versions[0]!, 1, opts) as Any).spec.template.spec;
  const sidecarOf = (pod: Any): Any => pod.containers.find((c: Any) => c.name === "sidecar");

  it("DataToModel (the default): mode and options as flags, the key Secret required", () => {
    const pod = podOf(medModel());
    const args: string[] = sidecarOf(pod).args;
    expect(args.slice(args.indexOf("--deid-mode"), args.indexOf("--deid-mode") + 2)).toEqual([
      "--deid-mode",
      "DataToModel",
    ]);
    expect(args.filter((_a, i) => args[i - 1] === "--deid-option")).toEqual([
      "CleanDescriptors",
      "RetainLongitudinalTemporalInformationModifiedDates",
    ]);
    const volume = pod.volumes.find((v: Any) => v.name === "deid-key");
    expect(volume.secret).toMatchObject({ secretName: "medmlops-deid-key", optional: false });
    expect(sidecarOf(pod).env).toContainEqual({
      name: "MEDMLOPS_DEID_KEY_FILE",
      value: "/var/run/secrets/medmlops/deid/hmac-key",
    });
  });

  /** The key Secrets a pod mounts: volume → [Secret, key, optional], and the file each variable names. */
  const keysOf = (pod: Any) => ({
    volumes: Object.fromEntries(
      pod.volumes
        .filter((v: Any) => v.secret)
        .map((v: Any) => [
          v.name,
          [v.secret.secretName, v.secret.items.map((i: Any) => i.key).join(), v.secret.optional],
        ]),
    ),
    mounts: Object.fromEntries(
      sidecarOf(pod)
        .volumeMounts.filter((m: Any) => m.name.endsWith("-key"))
        .map((m: Any) => [m.name, m.mountPath]),
    ),
    env: Object.fromEntries(sidecarOf(pod).env.map((e: Any) => [e.name, e.value])),
  });

  it("DataToModel mounts the deid key (required) and the case-id key (optional), each its own volume and variable", () => {
    expect(keysOf(podOf(medModel()))).toEqual({
      volumes: {
        "deid-key": ["medmlops-deid-key", "hmac-key", false],
        "case-id-key": ["medmlops-case-id-key", "hmac-key", true],
      },
      mounts: {
        "deid-key": "/var/run/secrets/medmlops/deid",
        "case-id-key": "/var/run/secrets/medmlops/case-id",
      },
      env: {
        MEDMLOPS_DEID_KEY_FILE: "/var/run/secrets/medmlops/deid/hmac-key",
        MEDMLOPS_CASE_ID_KEY_FILE: "/var/run/secrets/medmlops/case-id/hmac-key",
      },
    });
  });

  it("ModelToData without a monitor mounts only the case-id key; the deid key Secret is not in the pod", () => {
    const pod = podOf(
      medModel({
        deid: { mode: "ModelToData", options: [], keySecretRef: { name: "site-key", key: "k" } },
        serving: { caseIdKeySecretRef: { name: "site-case-ids", key: "c" } },
      }),
    );
    const args: string[] = sidecarOf(pod).args;
    expect(args).toContain("ModelToData");
    expect(args).not.toContain("--deid-option");
    expect(keysOf(pod)).toEqual({
      volumes: { "case-id-key": ["site-case-ids", "c", true] },
      mounts: { "case-id-key": "/var/run/secrets/medmlops/case-id" },
      env: { MEDMLOPS_CASE_ID_KEY_FILE: "/var/run/secrets/medmlops/case-id/c" },
    });
    expect(JSON.stringify(pod)).not.toContain("site-key");
  });

  it("ModelToData with a monitor also mounts the deid key, optional (records carry the consent pseudonym)", () => {
    const m = medModel({
      deid: { mode: "ModelToData", options: [], keySecretRef: { name: "site-key", key: "k" } },
    });
    const pod = (
      buildDeployment(m, m.spec.versions[0]!, 1, { ...opts, monitorUrl: "http://monitor:8090" }) as Any
    ).spec.template.spec;
    expect(keysOf(pod).volumes).toEqual({
      "deid-key": ["site-key", "k", true],
      "case-id-key": ["medmlops-case-id-key", "hmac-key", true],
    });
    expect(keysOf(pod).env.MEDMLOPS_DEID_KEY_FILE).toBe("/var/run/secrets/medmlops/deid/k");
  });
});

describe("spec.serving.tls reaches the sidecar, its probes and the Services", () => {
  const dep = (tls?: Record<string, unknown>) => {
    const model = medModel(tls ? { serving: { tls } } : {});
    const d = buildDeployment(model, model.spec.versions[0]!, 1, opts) as Any;
    const pod = d.spec.template.spec;
    return { model, pod, sidecar: pod.containers.find((c: Any) => c.name === "sidecar") };
  };
  const flag = (args: string[], name: string) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const probes = (c: Any) => [c.startupProbe, c.livenessProbe, c.readinessProbe].map((p) => p.httpGet);

  it("without tls: plain HTTP as before — no flags, no Secret, probes and Services on port http", () => {
    const { model, pod, sidecar } = dep();
    expect(sidecar.args.filter((a: string) => /^--(tls|client-auth|auth-token)/.test(a))).toEqual([]);
    expect(pod.volumes.map((v: Any) => v.name)).not.toContain("serving-tls");
    for (const p of probes(sidecar)) expect(p).toEqual({ path: expect.any(String), port: "http" });
    expect(sidecar.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
    const svc = buildStableService(model, decision()) as Any;
    expect(svc.spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
  });

  it("clientAuth none: the certificate Secret's tls.crt and tls.key only, read-only, required; HTTPS probes; https Services on 443", () => {
    const { model, pod, sidecar } = dep({ secretName: "chest-tls" });
    expect(flag(sidecar.args, "--tls-cert")).toBe("/var/run/secrets/medmlops/tls/tls.crt");
    expect(flag(sidecar.args, "--tls-key")).toBe("/var/run/secrets/medmlops/tls/tls.key");
    expect(flag(sidecar.args, "--client-auth")).toBe("none");
    expect(sidecar.args).not.toContain("--tls-client-ca");
    expect(sidecar.args).not.toContain("--auth-token-file");
    expect(pod.volumes.find((v: Any) => v.name === "serving-tls")).toEqual({
      name: "serving-tls",
      secret: {
        secretName: "chest-tls",
        items: [
          { key: "tls.crt", path: "tls.crt" },
          { key: "tls.key", path: "tls.key" },
        ],
        defaultMode: 0o440,
        optional: false,
      },
    });
    // A directory mount (no subPath): the kubelet's update of a rotated Secret reaches the files.
    expect(sidecar.volumeMounts).toContainEqual({
      name: "serving-tls",
      mountPath: "/var/run/secrets/medmlops/tls",
      readOnly: true,
    });
    expect(sidecar.volumeMounts.every((m: Any) => m.subPath === undefined)).toBe(true);
    // The metrics port stays plain HTTP (the chart's PodMonitor scrapes it as before).
    expect(sidecar.ports).toEqual([
      { name: "https", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ]);
    for (const p of probes(sidecar))
      expect(p).toEqual({ path: expect.any(String), port: "https", scheme: "HTTPS" });
    for (const svc of [
      buildStableService(model, decision()),
      ...buildChildren(model, decision(), opts),
    ].filter((c: Any) => c.kind === "Service") as Any[])
      expect(svc.spec.ports).toEqual([
        { name: "https", port: 443, targetPort: "https", protocol: "TCP", appProtocol: "https" },
      ]);
  });

  it("mtls: also ca.crt, passed as --tls-client-ca", () => {
    const { pod, sidecar } = dep({ secretName: "chest-tls", clientAuth: "mtls" });
    expect(flag(sidecar.args, "--client-auth")).toBe("mtls");
    expect(flag(sidecar.args, "--tls-client-ca")).toBe("/var/run/secrets/medmlops/tls/ca.crt");
    expect(
      pod.volumes.find((v: Any) => v.name === "serving-tls").secret.items.map((i: Any) => i.key),
    ).toEqual(["tls.crt", "tls.key", "ca.crt"]);
    expect(pod.volumes.map((v: Any) => v.name)).not.toContain("serving-token");
  });

  it("token: the token Secret's one key as the file `token`, its own volume; no client CA", () => {
    const { pod, sidecar } = dep({
      secretName: "chest-tls",
      clientAuth: "token",
      tokenSecretRef: { name: "chest-token", key: "bearer" },
    });
    expect(flag(sidecar.args, "--client-auth")).toBe("token");
    expect(flag(sidecar.args, "--auth-token-file")).toBe("/var/run/secrets/medmlops/token/token");
    expect(sidecar.args).not.toContain("--tls-client-ca");
    expect(pod.volumes.find((v: Any) => v.name === "serving-token")).toEqual({
      name: "serving-token",
      secret: {
        secretName: "chest-token",
        items: [{ key: "bearer", path: "token" }],
        defaultMode: 0o440,
        optional: false,
      },
    });
    expect(
      pod.volumes.find((v: Any) => v.name === "serving-tls").secret.items.map((i: Any) => i.key),
    ).toEqual(["tls.crt", "tls.key"]);
    expect(sidecar.volumeMounts).toContainEqual({
      name: "serving-token",
      mountPath: "/var/run/secrets/medmlops/token",
      readOnly: true,
    });
  });

  it("the HTTPRoute's backends follow the Services to port 443", () => {
    const model = medModel({
      serving: { tls: { secretName: "chest-tls" } },
      rollout: {
        strategy: "BlueGreen",
        requireValidation: false,
        trafficRouting: { gatewayAPI: { parentRefs: [{ name: "gw" }] } },
      },
    });
    const desired = buildDesired(model, decision(), { ...opts, gatewayApiServed: true });
    const route = desired.children.map(([c]) => c as Any).find((c) => c.kind === "HTTPRoute");
    expect(route.spec.rules[0].backendRefs.map((b: Any) => b.port)).toEqual([443]);
  });
});
