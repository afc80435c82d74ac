import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// Test PKI for the loopback control plane, made with the machine's `openssl` (a test harness, not production).
// EC P-256 keys are quick to make; the service-account signing key is RSA because every consumer accepts RS256.

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  /** Client certificates by name: admin (system:masters), controller-manager, scheduler. */
  clients: Record<ClientName, { cert: string; key: string }>;
}

export type ClientName = "admin" | "controller-manager" | "scheduler";

/** Subject of each client certificate: RBAC's bootstrap policy already binds the system:kube-* users. */
const CLIENT_SUBJECTS: Record<ClientName, string> = {
  admin: "/O=system:masters/CN=admin",
  "controller-manager": "/CN=system:kube-controller-manager",
  scheduler: "/CN=system:kube-scheduler",
};

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  openssl(
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]),
    dir,
  );
  openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
      "-days",
      "3650",
      "-sha256",
      "-out",
      `${name}.crt`,
      "-extfile",
      ext,
    ]),
    dir,
  );
}

export function pkiFiles(dir: string): Pki {
  const client = (n: string) => ({ cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) });
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "apiserver.crt"),
    serverKey: join(dir, "apiserver.key"),
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
    clients: {
      admin: client("admin"),
      "controller-manager": client("controller-manager"),
      scheduler: client("scheduler"),
    },
  };
}

/** Creates the CA, API server serving cert, service-account key pair and client certs, unless already there. */
export function ensurePki(dir: string): Pki {
  const pki = pkiFiles(dir);
  const all = [
    pki.caCert,
    pki.serverCert,
    pki.saKey,
    pki.saPub,
    ...Object.values(pki.clients).map((c) => c.cert),
  ];
  if (all.every((f) => existsSync(f))) return pki;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
      .concat([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-sha256",
        "-subj",
        "/CN=medmlops-test-ca",
      ])
      .concat([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]),
    dir,
  );
  const leaf = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
  issue(dir, "apiserver", "/CN=kube-apiserver", [
    ...leaf,
    "extendedKeyUsage=serverAuth",
    // 10.0.0.1 is the `kubernetes` Service's cluster IP in --service-cluster-ip-range=10.0.0.0/16.
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
  ]);
  for (const [name, subject] of Object.entries(CLIENT_SUBJECTS)) {
    issue(dir, name, subject, [...leaf, "extendedKeyUsage=clientAuth"]);
  }
  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"], dir);
  openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  return pki;
}

/**
 * Certificates of the real node (real-node.ts), issued with the existing CA and only when missing, so a running
 * cluster's PKI is never replaced: the kubelet's client (system:node:NAME in system:nodes) and serving
 * certificates, kube-proxy's client (system:kube-proxy, bound to system:node-proxier by RBAC's bootstrap policy) and
 * the API server's client for kubelets (logs, exec; system:masters in this test cluster).
 */
export interface NodePki {
  kubelet: { cert: string; key: string };
  kubeletServing: { cert: string; key: string };
  kubeProxy: { cert: string; key: string };
  apiserverKubeletClient: { cert: string; key: string };
}

export function nodePkiFiles(dir: string): NodePki {
  const pair = (n: string) => ({ cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) });
  return {
    kubelet: pair("kubelet"),
    kubeletServing: pair("kubelet-serving"),
    kubeProxy: pair("kube-proxy"),
    apiserverKubeletClient: pair("apiserver-kubelet-client"),
  };
}

export function ensureNodePki(dir: string, nodeName: string, nodeIp: string): NodePki {
  const files = nodePkiFiles(dir);
  const leaf = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
  const want: [string, string, string[]][] = [
    ["kubelet", `/O=system:nodes/CN=system:node:${nodeName}`, ["extendedKeyUsage=clientAuth"]],
    [
      "kubelet-serving",
      `/CN=${nodeName}`,
      ["extendedKeyUsage=serverAuth", `subjectAltName=IP:${nodeIp},IP:127.0.0.1,DNS:${nodeName}`],
    ],
    ["kube-proxy", "/CN=system:kube-proxy", ["extendedKeyUsage=clientAuth"]],
    [
      "apiserver-kubelet-client",
      "/O=system:masters/CN=kube-apiserver-kubelet-client",
      ["extendedKeyUsage=clientAuth"],
    ],
  ];
  for (const [name, subject, ext] of want) {
    if (!existsSync(join(dir, `${name}.crt`))) issue(dir, name, subject, [...leaf, ...ext]);
  }
  return files;
}
