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
