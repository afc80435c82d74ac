/**
 * When a policy is evaluated: every spec.schedule.interval, and at once when its spec changed (generation moved
 * past the one last evaluated) or the model gained a version the policy has no results for. After a monitor
 * outage the controller retries sooner than the interval (RETRY_MS), so verdicts resume as soon as it is back.
 */
import { durationToMs } from "../../crds/common.ts";
import { type Condition, findCondition } from "../runtime/index.ts";
import { CONDITION } from "./types.ts";

/** Retry delay after the monitor was unreachable, capped by the interval. */
export const RETRY_MS = 30_000;
export const DEFAULT_INTERVAL_MS = 3_600_000;

export type DueReason = "FirstEvaluation" | "SpecChanged" | "NewVersion" | "Interval";

export interface ScheduleInput {
  now: Date;
  interval: string | undefined;
  generation: number;
  lastEvaluation: string | undefined;
  conditions: readonly Condition[] | undefined;
  /** Versions with a results entry from the last evaluation. */
  evaluatedVersions: readonly string[];
  /** The model's versions now. */
  versions: readonly string[];
}

export function intervalMs(interval: string | undefined): number {
  if (interval === undefined) return DEFAULT_INTERVAL_MS;
  try {
    const ms = durationToMs(interval);
    return ms > 0 ? ms : DEFAULT_INTERVAL_MS;
  } catch {
    return DEFAULT_INTERVAL_MS;
  }
}

/**
 * The generation the verdict conditions were computed for. Breached is written only by a successful evaluation
 * (a monitor outage changes Ready alone), so its observedGeneration is the spec the current verdicts answer.
 */
export function evaluatedGeneration(conditions: readonly Condition[] | undefined): number | undefined {
  return findCondition(conditions, CONDITION.Breached)?.observedGeneration;
}

/** Why an evaluation is due now, or undefined and how long until the next one. */
export function evaluationDue(input: ScheduleInput): { due: DueReason | undefined; inMs: number } {
  const every = intervalMs(input.interval);
  if (input.lastEvaluation === undefined) return { due: "FirstEvaluation", inMs: 0 };
  const evaluatedGen = evaluatedGeneration(input.conditions);
  if (evaluatedGen === undefined || input.generation > evaluatedGen) return { due: "SpecChanged", inMs: 0 };
  if (input.versions.some((v) => !input.evaluatedVersions.includes(v))) return { due: "NewVersion", inMs: 0 };
  const last = Date.parse(input.lastEvaluation);
  const next = (Number.isNaN(last) ? 0 : last) + every;
  const inMs = next - input.now.getTime();
  return inMs <= 0 ? { due: "Interval", inMs: 0 } : { due: undefined, inMs };
}

/** Delay before the next attempt after this reconcile. */
export function nextAttemptMs(
  interval: string | undefined,
  monitorFailed: boolean,
  untilDueMs: number,
): number {
  const every = intervalMs(interval);
  if (monitorFailed) return Math.min(RETRY_MS, every);
  return Math.max(1000, untilDueMs > 0 ? untilDueMs : every);
}
