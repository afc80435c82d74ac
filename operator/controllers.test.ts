// Every controller in the registry, built together as `medmlops operator` builds them: the informers they ask the
// shared cache for must agree (one view per kind). Each controller's own tests build it alone, which is how the
// RetrainJob controller's Pod watch once made the whole operator refuse to start with --retrain-jobs true.
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { controllersFor, registry } from "./controllers.ts";
import { Manager } from "./manager.ts";

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  // Never contacted: the Manager's constructor registers informers and builds controllers without I/O.
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

function build(opts: { monitorUrl?: string; retrainJobs?: boolean }): Manager {
  return new Manager({
    kubeConfig: kubeConfig(),
    log: pino({ level: "silent" }),
    controllers: controllersFor(opts),
    metricsPort: 0,
    config: {
      sidecarImage: "localhost/medmlops:dev",
      ...(opts.monitorUrl ? { monitorUrl: opts.monitorUrl } : {}),
      identity: "test",
    },
  });
}

describe("the operator's controllers together", () => {
  it("builds every registered controller in one manager (shared cache views agree)", () => {
    const m = build({ monitorUrl: "http://monitor.test:8090", retrainJobs: true });
    expect(m.controllers.map((c) => c.spec.name).sort()).toHaveLength(registry.length);
    const kinds = m.cache.kinds().map((k) => k.kind);
    expect(kinds).toContain("Pod");
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it("builds the MedModel controller alone without a monitor", () => {
    const m = build({});
    expect(m.controllers.map((c) => c.spec.name)).toEqual(["medmodel"]);
  });
});
