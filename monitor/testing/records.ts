/**
 * Synthetic records for tests and benchmarks: seeded, with a controllable shift of the input distribution and
 * a known operating point (so sensitivity and specificity of the decisions are known in advance).
 */
import type { MonitorRecord } from "../wire.ts";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export interface SyntheticOptions {
  n: number;
  namespace?: string;
  model?: string;
  version?: string;
  /** Time of the first record; records are spread over spanMs. */
  start: Date;
  spanMs?: number;
  seed?: number;
  /** Added to the mean of every input feature (in units of its std). */
  shift?: number;
  /** Input features per record (image:f0 … ), default 5 plus 3 output scores. */
  features?: number;
  /** Fraction of truly positive cases (default 0.3). */
  prevalence?: number;
  sites?: string[];
  manufacturers?: string[];
  caseIdPrefix?: string;
  patient?: (i: number) => string | undefined;
}

export interface SyntheticCase {
  record: MonitorRecord;
  /** The truth a reader would annotate. */
  truth: boolean;
}

export function syntheticCases(o: SyntheticOptions): SyntheticCase[] {
  const rand = mulberry32(o.seed ?? 1);
  const features = o.features ?? 5;
  const span = o.spanMs ?? 3_600_000;
  const sites = o.sites ?? ["a", "b"];
  const manufacturers = o.manufacturers ?? ["GE", "Siemens"];
  const out: SyntheticCase[] = [];
  for (let i = 0; i < o.n; i++) {
    const truth = rand() < (o.prevalence ?? 0.3);
    const inputs: Record<string, number> = {};
    for (let f = 0; f < features; f++)
      inputs[`image:f${f}`] = 100 + 10 * f + 20 * (normal(rand) + (o.shift ?? 0));
    const score = Math.min(1, Math.max(0, (truth ? 0.7 : 0.3) + 0.2 * normal(rand)));
    const patient = o.patient?.(i);
    out.push({
      truth,
      record: {
        time: new Date(o.start.getTime() + Math.floor((i * span) / Math.max(1, o.n))).toISOString(),
        namespace: o.namespace ?? "radiology",
        model: o.model ?? "chest-xray",
        version: o.version ?? "v1",
        caseId: `${o.caseIdPrefix ?? "c"}${i}`,
        ...(patient ? { patient } : {}),
        site: sites[i % sites.length]!,
        metadata: {
          Modality: "DX",
          Manufacturer: manufacturers[i % manufacturers.length]!,
          KVP: 110 + (i % 10),
        },
        inputs,
        outputs: { "score:pneumothorax": score, "score:effusion": rand(), "score:nodule": rand() },
        decision: { label: "pneumothorax", score, positive: score >= 0.5 },
      },
    });
  }
  return out;
}
