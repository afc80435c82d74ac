/** The MedModel controller's door: the factory the operator registers, and the pure pieces others may reuse. */
export {
  MedModelKind,
  medModelController,
  medModelControllerWith,
  ValidationPolicyKind,
} from "./controller.ts";
export { decide } from "./decide.ts";
export { buildChildren, configMapName, deploymentName, LABEL } from "./children.ts";
export { ANNOTATIONS, CONDITION, type Decision, type DecisionInput } from "./types.ts";
