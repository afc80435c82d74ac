import { describe, expect, it } from "vitest";
import { HELP, parseFlags } from "./cli.ts";
import { controllersFor, registry } from "./controllers.ts";

describe("medmlops operator flags", () => {
  it("has defaults for a single replica watching all namespaces", () => {
    expect(parseFlags([], {})).toEqual({
      "leader-elect": false,
      "lease-name": "medmlops-operator",
      "metrics-port": 8080,
      "retrain-jobs": "false",
    });
  });

  it("parses every flag", () => {
    expect(
      parseFlags([
        "--kubeconfig=/k",
        "--namespace",
        "radiology",
        "--leader-elect",
        "--lease-namespace=ops",
        "--metrics-port=9090",
        "--sidecar-image=reg/medmlops:1",
        "--log-level=debug",
      ]),
    ).toMatchObject({
      kubeconfig: "/k",
      namespace: ["radiology"],
      "leader-elect": true,
      "lease-namespace": "ops",
      "metrics-port": 9090,
      "sidecar-image": "reg/medmlops:1",
      "log-level": "debug",
    });
    expect(parseFlags(["-h"])).toBe("help");
  });

  it("takes the monitor URL from --monitor-url or MEDMLOPS_MONITOR_URL, flags first, and refuses non-HTTP", () => {
    expect(parseFlags([], {})).not.toHaveProperty("monitor-url");
    expect(parseFlags([], { MEDMLOPS_MONITOR_URL: "http://mon:8090/" })).toMatchObject({
      "monitor-url": "http://mon:8090",
    });
    expect(
      parseFlags(["--monitor-url=https://m.example:443"], { MEDMLOPS_MONITOR_URL: "http://mon:8090" }),
    ).toMatchObject({ "monitor-url": "https://m.example:443" });
    expect(() => parseFlags(["--monitor-url=postgres://db"], {})).toThrow(/--monitor-url/);
  });

  it("takes the monitor client's TLS files from flags or MEDMLOPS_MONITOR_*, and only with --monitor-url", () => {
    const url = "--monitor-url=https://mon:8090";
    expect(parseFlags([url], {})).not.toHaveProperty("monitorTls");
    expect(
      parseFlags([url, "--monitor-ca=/ca.crt", "--monitor-cert=/tls.crt", "--monitor-key=/tls.key"], {}),
    ).toMatchObject({ monitorTls: { caFile: "/ca.crt", certFile: "/tls.crt", keyFile: "/tls.key" } });
    expect(
      parseFlags([url, "--monitor-ca=/flag.crt"], {
        MEDMLOPS_MONITOR_CA: "/env.crt",
        MEDMLOPS_MONITOR_TOKEN_FILE: "/token",
      }),
    ).toMatchObject({ monitorTls: { caFile: "/flag.crt", tokenFile: "/token" } });
    expect(() => parseFlags([url, "--monitor-cert=/tls.crt"], {})).toThrow(/go together/);
    expect(() => parseFlags(["--monitor-ca=/ca.crt"], {})).toThrow(/need --monitor-url/);
    expect(HELP).toContain("--monitor-token-file F");
  });

  it("takes the reconcile workers from --workers or MEDMLOPS_WORKERS, 1 to 64", () => {
    expect(parseFlags(["--workers=8"], {})).toMatchObject({ workers: 8 });
    expect(parseFlags([], { MEDMLOPS_WORKERS: "2" })).toMatchObject({ workers: 2 });
    expect(parseFlags(["--workers=3"], { MEDMLOPS_WORKERS: "2" })).toMatchObject({ workers: 3 });
    expect(() => parseFlags(["--workers=0"], {})).toThrow(/--workers/);
  });

  it("takes several namespaces, comma-separated, deduplicated", () => {
    expect(parseFlags(["--namespace=radiology, oncology,radiology"], {})).toMatchObject({
      namespace: ["radiology", "oncology"],
    });
    expect(() => parseFlags(["--namespace=radiology,Bad_NS"], {})).toThrow(/--namespace/);
  });

  it("reads the chart's environment variables, and flags win over them", () => {
    const env = {
      MEDMLOPS_WATCH_NAMESPACES: "radiology,oncology",
      MEDMLOPS_LEASE_NAME: "hospital-a",
      MEDMLOPS_LOG_LEVEL: "warn",
    };
    expect(parseFlags([], env)).toMatchObject({
      namespace: ["radiology", "oncology"],
      "lease-name": "hospital-a",
      "log-level": "warn",
    });
    expect(parseFlags(["--namespace=icu", "--log-level=debug"], env)).toMatchObject({
      namespace: ["icu"],
      "lease-name": "hospital-a",
      "log-level": "debug",
    });
    expect(parseFlags([], { MEDMLOPS_WATCH_NAMESPACES: "" })).not.toHaveProperty("namespace");
  });

  it("rejects bad values with the flag named", () => {
    expect(() => parseFlags(["--metrics-port=70000"])).toThrow(/--metrics-port/);
    expect(() => parseFlags(["--namespace=Not_A_Namespace"])).toThrow(/--namespace/);
    expect(() => parseFlags(["--log-level=loud"])).toThrow(/--log-level/);
    expect(() => parseFlags(["--unknown"])).toThrow();
  });

  it("lists in its help exactly the controllers that are registered", () => {
    const line = HELP.split("\n").find((l) => l.startsWith("Controllers:"));
    expect(line).toBe(`Controllers: ${registry.map((r) => r.kind).join(", ")}`);
    for (const kind of ["MedModel", "ValidationPolicy", "RetrainJob", "ConsentRecord"]) {
      expect(HELP.includes(kind), kind).toBe(registry.some((r) => r.kind === kind));
    }
  });

  it("--monitor-url (or MEDMLOPS_MONITOR_URL) enables the ValidationPolicy controller", () => {
    const flags = parseFlags(["--monitor-url", "http://monitor:8090"], {});
    expect(flags !== "help" && flags["monitor-url"]).toBe("http://monitor:8090");
    const fromEnv = parseFlags([], {
      MEDMLOPS_MONITOR_URL: "http://m:8090",
      MEDMLOPS_REFERENCE_FIRST_RECORDS: "300",
    });
    expect(fromEnv !== "help" && [fromEnv["monitor-url"], fromEnv["reference-first-records"]]).toEqual([
      "http://m:8090",
      300,
    ]);
    expect(() => parseFlags(["--monitor-url", "ftp://x"], {})).toThrow(/monitor-url/);
    expect(controllersFor({}).length).toBe(registry.filter((r) => !r.needsMonitor).length);
    expect(controllersFor({ monitorUrl: "http://m:8090" }).length).toBe(
      registry.filter((r) => !r.needsRetrainJobs).length,
    );
    // the RetrainJob controller creates batch/Jobs: only with --retrain-jobs true (chart: retrainJobController.enabled)
    expect(controllersFor({ monitorUrl: "http://m:8090", retrainJobs: true }).length).toBe(registry.length);
    expect(parseFlags([], { MEDMLOPS_RETRAIN_JOBS: "true" })).toMatchObject({ "retrain-jobs": "true" });
  });

  it("parses the admission re-check lists from flags and env; empty env is an empty list, unset is none", async () => {
    const { admissionOf } = await import("./cli.ts");
    const f = parseFlags(["--allowed-image-prefixes", "ghcr.io/a:, ghcr.io/a@sha256:"], {
      MEDMLOPS_ALLOWED_MODEL_CLAIMS: "",
      MEDMLOPS_ALLOWED_KEY_SECRETS: "k1,k2",
    });
    if (f === "help") throw new Error("help");
    expect(admissionOf(f)).toEqual({
      imagePrefixes: ["ghcr.io/a:", "ghcr.io/a@sha256:"],
      keySecrets: ["k1", "k2"],
      modelClaims: [],
    });
    const none = parseFlags([], {});
    if (none === "help") throw new Error("help");
    expect(admissionOf(none)).toBeUndefined();
    expect(() => parseFlags(["--allowed-key-secrets", "a b"], {})).toThrow(/allowed-key-secrets/);
  });

  it("parses --serving-tls-issuer Kind/name (or MEDMLOPS_SERVING_TLS_ISSUER); unset issues nothing", () => {
    expect(parseFlags(["--serving-tls-issuer", "ClusterIssuer/mm-serving-ca"], {})).toMatchObject({
      "serving-tls-issuer": { kind: "ClusterIssuer", name: "mm-serving-ca", group: "cert-manager.io" },
    });
    expect(parseFlags([], { MEDMLOPS_SERVING_TLS_ISSUER: "Issuer/radiology-ca" })).toMatchObject({
      "serving-tls-issuer": { kind: "Issuer", name: "radiology-ca" },
    });
    expect(parseFlags([], {})).not.toHaveProperty("serving-tls-issuer");
    for (const bad of ["radiology-ca", "Secret/x", "ClusterIssuer/", "ClusterIssuer/Bad_Name", "Issuer/a/b"])
      expect(() => parseFlags(["--serving-tls-issuer", bad], {}), bad).toThrow(/--serving-tls-issuer/);
    expect(HELP).toContain("--serving-tls-issuer");
  });
});
