/** The RetrainJob controller's door: the factory operator/controllers.ts registers. */
import { MonitorClient } from "../../monitor/client.ts";
import { type ControllerDeps, type ControllerSpec, monitorOptions } from "../runtime/index.ts";
import { OutputClaim, retrainJobController } from "./controller.ts";

export { retrainJobController } from "./controller.ts";

/** Needs `--monitor-url`. The candidates' PVC: env MEDMLOPS_RETRAIN_OUTPUT_CLAIM (default medmlops-models). */
export function retrainJobControllerFromConfig(deps: ControllerDeps): ControllerSpec {
  const url = deps.config.monitorUrl;
  if (!url) throw new Error("the RetrainJob controller needs --monitor-url");
  return retrainJobController(deps, {
    monitor: new MonitorClient(url, monitorOptions(deps.config)),
    monitorUrl: url,
    image: deps.config.sidecarImage,
    outputClaim: OutputClaim.parse(process.env.MEDMLOPS_RETRAIN_OUTPUT_CLAIM ?? "medmlops-models"),
  });
}
