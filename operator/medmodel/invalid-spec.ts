/**
 * The decision for a MedModel whose spec does not parse or whose names cannot make valid children: nothing is
 * built or changed; status says why (Ready False and Degraded True, reason InvalidSpec), until the user fixes it.
 * Pure; the controller writes the result.
 */
import { type MedModel, MedModelSpecSchema } from "../../crds/index.ts";
import { type KubeObject, setCondition, setKstatusConditions } from "../runtime/index.ts";
import { nameProblems } from "./children.ts";
import { REASON } from "./reasons.ts";
import type { DecisionStatus } from "./types.ts";

/** The parsed model, or at most five problems (field paths and rules, never values). */
export function parseModel(cached: KubeObject): { model: MedModel } | { problems: string[] } {
  const parsed = MedModelSpecSchema.safeParse(cached["spec"]);
  if (!parsed.success)
    return { problems: parsed.error.issues.slice(0, 5).map((i) => `spec.${i.path.join(".")}: ${i.message}`) };
  const model = { ...cached, spec: parsed.data } as MedModel;
  const problems = nameProblems(model);
  return problems.length > 0 ? { problems } : { model };
}

export function invalidSpecStatus(
  previous: DecisionStatus,
  problems: readonly string[],
  generation: number,
  now: Date,
): DecisionStatus {
  const message = problems.join("; ");
  const observedGeneration = generation;
  const conditions = setCondition(
    setCondition(
      previous.conditions,
      { type: "Ready", status: "False", reason: REASON.InvalidSpec, message, observedGeneration },
      now,
    ),
    { type: "Degraded", status: "True", reason: REASON.InvalidSpec, message, observedGeneration },
    now,
  );
  // kstatus reads Failed: nothing happens until the spec is fixed (it must never read Current).
  const stalled = setKstatusConditions(
    conditions,
    { state: "Stalled", reason: REASON.InvalidSpec, message },
    generation,
    now,
  );
  return { ...previous, conditions: stalled };
}
