// The reference both monitor benches start from: 5,000 synthetic records two spans before `now`, frozen as v1's
// reference profile (so drift roll-ups exist for every record ingested after).
import type { StartedMonitor } from "../monitor/testing/index.ts";
import { syntheticCases } from "../monitor/testing/records.ts";

export async function freezeSyntheticReference(
  m: Pick<StartedMonitor, "client">,
  o: { namespace: string; model: string; now: Date; spanMs: number },
): Promise<void> {
  const ref = syntheticCases({
    n: 5000,
    namespace: o.namespace,
    model: o.model,
    start: new Date(o.now.getTime() - 2 * o.spanMs),
    caseIdPrefix: "ref",
    seed: 1,
  });
  await m.client.postRecords(ref.map((c) => c.record));
  await m.client.putReference(o.namespace, o.model, "v1", { firstRecords: 5000 });
}

/**
 * The policy the ingest, memory and retention benches run under: 5 % random sampling, a sensitivity floor
 * (by site when `bySite`), and KS on the five synthetic input features over 7 days.
 */
export function ingestBenchPolicy(model: string, opts: { bySite: boolean }) {
  return {
    model,
    spec: {
      modelRef: { name: model },
      sampling: { rate: 0.05, strategy: "Random", minPerWindow: 0 },
      metrics: [
        { name: "sensitivity", min: 0.1, minSamples: 10, ...(opts.bySite ? { bySubgroup: ["site"] } : {}) },
      ],
      drift: {
        window: { duration: "7d" },
        checks: [0, 1, 2, 3, 4].map((f) => ({
          source: "input",
          feature: `image:f${f}`,
          test: "ks",
          pValue: 0.01,
        })),
      },
    } as never,
  };
}

/**
 * Batch `i / batch` of the ingest and memory benches' N records: spread evenly over the `spanMs` before `now`,
 * shifted by 0.2 from the reference, three sites and three manufacturers.
 */
export function ingestBenchBatch(o: {
  i: number;
  n: number;
  batch: number;
  namespace: string;
  model: string;
  now: Date;
  spanMs: number;
}) {
  return syntheticCases({
    n: Math.min(o.batch, o.n - o.i),
    namespace: o.namespace,
    model: o.model,
    start: new Date(o.now.getTime() - o.spanMs + Math.floor((o.i / o.n) * o.spanMs)),
    spanMs: Math.ceil((o.batch / o.n) * o.spanMs),
    caseIdPrefix: `l${o.i}-`,
    seed: 100 + o.i,
    shift: 0.2,
    sites: ["a", "b", "c"],
    manufacturers: ["GE", "Siemens", "Philips"],
  }).map((c) => c.record);
}
