// The operator's --monitor-ca re-read on rotation (real openssl certificates, real files replaced by rename as a
// Secret update does): the new bundle is current after one check and the change is announced; a file that stops
// being a CA, or disappears, keeps the last good bundle and is reported once, naming the file, never its content.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makePki } from "../../test/support/certs.ts";
import { MonitorCaFile } from "./monitor-ca.ts";

describe("MonitorCaFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "medmlops-monitor-ca-"));
  const a = makePki();
  const b = makePki();
  afterAll(() => {
    a.remove();
    b.remove();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, "ca.crt");
  const put = (content: string | Buffer) => {
    writeFileSync(`${file}.new`, content);
    renameSync(`${file}.new`, file);
  };

  it("serves the new bundle after a rotation and reports the change; a broken file keeps the last good one", () => {
    copyFileSync(a.caCert, file);
    let changes = 0;
    const errors: string[] = [];
    const ca = new MonitorCaFile(file, { onChange: () => changes++, onError: (m) => errors.push(m) });
    try {
      expect(ca.current()).toBe(readFileSync(a.caCert, "utf8"));
      ca.checkNow();
      expect(changes).toBe(0); // unchanged content: nothing to do

      put(readFileSync(b.caCert));
      ca.checkNow();
      expect(ca.current()).toBe(readFileSync(b.caCert, "utf8"));
      expect(changes).toBe(1);

      const key = readFileSync(join(b.dir, "test-ca.key"), "utf8");
      put(key); // the wrong file of a Secret: a key, not a certificate
      ca.checkNow();
      ca.checkNow();
      expect(ca.current()).toBe(readFileSync(b.caCert, "utf8"));
      expect(changes).toBe(1);
      rmSync(file);
      ca.checkNow();
      expect(ca.current()).toBe(readFileSync(b.caCert, "utf8"));
      expect(errors).toHaveLength(2); // once per failure, not once per poll
      expect(errors[0]).toContain(file);
      for (const e of errors) expect(e).not.toContain("PRIVATE KEY");

      put(readFileSync(a.caCert));
      ca.checkNow();
      expect(ca.current()).toBe(readFileSync(a.caCert, "utf8"));
      expect(changes).toBe(2);
    } finally {
      ca.stop();
    }
  });

  it("an unreadable file at start throws, naming it", () => {
    expect(() => new MonitorCaFile(join(dir, "absent.crt"))).toThrow(/absent\.crt: ENOENT/);
  });
});
