import { readFileSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";

/** Writes a kubeconfig with the CA and client certificate embedded, so the file works wherever it is copied. */
export function writeKubeconfig(opts: {
  file: string;
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  user: string;
}): void {
  const b64 = (f: string) => readFileSync(f).toString("base64");
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "medmlops-test",
        cluster: { server: opts.server, "certificate-authority-data": b64(opts.caCert) },
      },
    ],
    users: [
      {
        name: opts.user,
        user: { "client-certificate-data": b64(opts.clientCert), "client-key-data": b64(opts.clientKey) },
      },
    ],
    contexts: [{ name: "medmlops-test", context: { cluster: "medmlops-test", user: opts.user } }],
    "current-context": "medmlops-test",
  };
  writeFileSync(opts.file, stringify(doc), { mode: 0o600 });
}
