/**
 * Throw-away PKI for transport-security tests, made with the openssl CLI (the README already needs it): a CA, a
 * server certificate for 127.0.0.1/localhost, a client certificate, and a second CA whose client certificate the
 * servers must refuse. Files are laid out like a cert-manager Secret (tls.crt, tls.key, ca.crt).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pki {
  dir: string;
  caCert: string;
  /** A CA nobody trusts, and a client certificate it signed. */
  otherCaCert: string;
  /** Issues a certificate signed by the CA (or the other CA); returns its cert and key paths. */
  issue(
    name: string,
    opts?: { server?: boolean; otherCa?: boolean; cn?: string; dnsNames?: string[] },
  ): { cert: string; key: string };
  /** The certificate's serial number as openssl prints it (hex), to tell two certificates apart. */
  serial(certPath: string): string;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function newCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-sha256",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-out",
    cert,
  ]);
  return { cert, key };
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-pki-"));
  const ca = newCa(dir, "test-ca");
  const other = newCa(dir, "other-ca");
  let n = 0;
  return {
    dir,
    caCert: ca.cert,
    otherCaCert: other.cert,
    issue(name, opts = {}) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.crt`);
      const ext = join(dir, `${name}.ext`);
      const signer = opts.otherCa ? other : ca;
      openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
      openssl(["req", "-new", "-key", key, "-subj", `/CN=${opts.cn ?? name}`, "-out", csr]);
      writeFileSync(
        ext,
        opts.server
          ? `subjectAltName=IP:127.0.0.1,DNS:localhost${(opts.dnsNames ?? []).map((d) => `,DNS:${d}`).join("")}\nextendedKeyUsage=serverAuth\n`
          : "extendedKeyUsage=clientAuth\n",
      );
      openssl([
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        signer.cert,
        "-CAkey",
        signer.key,
        "-set_serial",
        String(1000 + ++n),
        "-days",
        "1",
        "-sha256",
        "-extfile",
        ext,
        "-out",
        cert,
      ]);
      return { cert, key };
    },
    serial(certPath) {
      return execFileSync("openssl", ["x509", "-noout", "-serial", "-in", certPath]).toString().trim();
    },
    read: (p) => readFileSync(p),
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
