/** The ValidationPolicy controller's door: the factory operator/controllers.ts registers. */
import { MonitorClient } from "../../monitor/client.ts";
import { type ControllerDeps, type ControllerSpec, monitorOptions } from "../runtime/index.ts";
import { validationPolicyController } from "./controller.ts";

export { validationPolicyController } from "./controller.ts";

/** Needs `--monitor-url` (operator/cli.ts registers it only then). */
export function validationPolicyControllerFromConfig(deps: ControllerDeps): ControllerSpec {
  const url = deps.config.monitorUrl;
  if (!url) throw new Error("the ValidationPolicy controller needs --monitor-url");
  return validationPolicyController(deps, {
    monitor: new MonitorClient(url, monitorOptions(deps.config)),
    ...(deps.config.referenceFirstRecords ? { firstRecords: deps.config.referenceFirstRecords } : {}),
  });
}
