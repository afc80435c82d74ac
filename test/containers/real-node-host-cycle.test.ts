/**
 * The real node's promise to the host, checked on its own: `downRealNode` undoes everything `upRealNode` changed.
 * With real-0 stopped the test takes a snapshot of the host (ip_forward, links, every iptables/ip6tables chain and
 * the rule count, mounts, top-level cgroups, /run entries), brings real-0 up (containerd's root is kept between
 * runs, so this takes seconds), checks the host did change (the bridge, the guard chain, kube-proxy's chains) so
 * the comparison can see a change at all, runs a pod-free `down`, and requires the snapshot after it to equal the
 * one before. real-0 is left running again for the other files of the project, as the global setup made it.
 *
 * Runs only with the real node (MEDMLOPS_REAL_NODE=1 or CI=true; see vitest.config.ts and docs/testing.md).
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../cluster/client.ts";
import {
  BRIDGE,
  downRealNode,
  hostDiff,
  hostSnapshot,
  REAL_NODE,
  realNodeHealthy,
  upRealNode,
} from "../cluster/real-node.ts";

const log = (m: string) => console.error(`[host-cycle] ${m}`);

describe(`${REAL_NODE}: up then down leaves the host as it was`, () => {
  it("the host snapshot after down equals the one before up", { timeout: 400_000 }, async () => {
    const wasUp = await realNodeHealthy();
    // Start from a host without the real node (down compares with the snapshot of the earlier up).
    expect(await downRealNode({ log })).toEqual([]);
    const before = hostSnapshot();
    expect(before.links).not.toContain(BRIDGE);

    let t = Date.now();
    await upRealNode({ log });
    const upMs = Date.now() - t;
    expect(await realNodeHealthy()).toBe(true);
    // The snapshot sees the node's changes: the bridge, the guard chain and kube-proxy's chains (written by
    // kube-proxy's first sync, shortly after the node is Ready).
    const during = await waitFor(() => {
      const d = hostDiff(before, hostSnapshot());
      return d.includes("+ iptables v4 nat KUBE-SERVICES") ? d : undefined;
    }, 60_000);
    expect(during).toContain(`+ links ${BRIDGE}`);
    expect(during).toContain("+ iptables v4 filter MEDMLOPS-GUARD");

    t = Date.now();
    const left = await downRealNode({ log });
    const downMs = Date.now() - t;
    expect(left).toEqual([]);
    expect(hostDiff(before, hostSnapshot())).toEqual([]);
    log(`up ${upMs} ms, down ${downMs} ms, host as before`);
    // Bounded: a warm up and a down each take seconds here (docs/testing.md "Cost").
    expect(upMs).toBeLessThan(180_000);
    expect(downMs).toBeLessThan(60_000);

    if (wasUp) await upRealNode({ log });
  });
});
