/** The ConsentRecord controller's door: the factory operator/controllers.ts registers. */
import { MonitorClient } from "../../monitor/client.ts";
import { type ControllerDeps, type ControllerSpec, monitorOptions } from "../runtime/index.ts";
import { consentRecordController } from "./controller.ts";

export { consentRecordController } from "./controller.ts";

/** Needs `--monitor-url`. */
export function consentRecordControllerFromConfig(deps: ControllerDeps): ControllerSpec {
  const url = deps.config.monitorUrl;
  if (!url) throw new Error("the ConsentRecord controller needs --monitor-url");
  return consentRecordController(deps, { monitor: new MonitorClient(url, monitorOptions(deps.config)) });
}
