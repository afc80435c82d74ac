/** Reading stored ValidationPolicy specs. */
import { durationToMs } from "../crds/common.ts";
import type { ValidationPolicySpec } from "../crds/validationpolicy.ts";
import type { Queryable } from "./db/index.ts";
import type { SamplingSpec } from "./sampling.ts";

export const DEFAULT_WINDOW_MS = 7 * 24 * 3_600_000;

export interface ModelSampling {
  spec: SamplingSpec;
  /** The sampling window (the policy's drift window duration, default 7 d) for minPerWindow and frequencies. */
  windowMs: number;
}

export function windowMs(spec: ValidationPolicySpec): number {
  return spec.drift.window.duration ? durationToMs(spec.drift.window.duration) : DEFAULT_WINDOW_MS;
}

/**
 * The sampling of each model that has a policy. Several policies on one model: the highest rate wins (the
 * union of their needs), with its strategy and the largest minPerWindow.
 */
export async function samplingFor(
  q: Queryable,
  models: readonly { namespace: string; model: string }[],
): Promise<Map<string, ModelSampling>> {
  const out = new Map<string, ModelSampling>();
  if (models.length === 0) return out;
  const { rows } = await q.query<{ namespace: string; model: string; spec: ValidationPolicySpec }>(
    `SELECT p.namespace, p.model, p.spec FROM policies p
     JOIN jsonb_to_recordset($1::jsonb) AS m(namespace text, model text)
       ON p.namespace = m.namespace AND p.model = m.model
     ORDER BY p.namespace, p.name`,
    [JSON.stringify(models)],
  );
  for (const r of rows) {
    const key = `${r.namespace}/${r.model}`;
    const s = r.spec.sampling;
    const prev = out.get(key);
    if (!prev || s.rate > prev.spec.rate) {
      out.set(key, {
        spec: {
          rate: s.rate,
          strategy: s.strategy,
          minPerWindow: Math.max(s.minPerWindow, prev?.spec.minPerWindow ?? 0),
        },
        windowMs: windowMs(r.spec),
      });
    } else {
      prev.spec.minPerWindow = Math.max(prev.spec.minPerWindow, s.minPerWindow);
    }
  }
  return out;
}
