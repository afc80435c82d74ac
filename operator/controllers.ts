/**
 * The controllers `medmlops operator` runs. Add a registration here to register a controller; the manager builds
 * each factory with the shared cache, client, event recorder and config (see operator/runtime/types.ts) and starts
 * it once the informer caches are synced (and, with --leader-elect, once this replica leads). `kind` is what
 * `medmlops operator --help` lists, so the help names exactly the controllers that exist.
 *
 * This registry is the only file that imports controllers; a controller imports the runtime, operator/kinds.ts
 * and crds/, never another controller.
 */
import { medModelController } from "./medmodel/index.ts";
import { validationPolicyControllerFromConfig } from "./validationpolicy/index.ts";
import { consentRecordControllerFromConfig } from "./consentrecord/index.ts";
import { retrainJobControllerFromConfig } from "./retrainjob/index.ts";
import type { ControllerFactory } from "./runtime/index.ts";

export interface Registration {
  /** The primary kind the controller reconciles, as users know it (MedModel, ValidationPolicy, …). */
  kind: string;
  factory: ControllerFactory;
  /** Registered only when `--monitor-url` is given (it calls the monitor). */
  needsMonitor?: boolean;
  /** Registered only with `--retrain-jobs true` (it creates batch/Jobs: the chart grants that right only then). */
  needsRetrainJobs?: boolean;
}

export const registry: Registration[] = [
  { kind: "MedModel", factory: medModelController },
  { kind: "ValidationPolicy", factory: validationPolicyControllerFromConfig, needsMonitor: true },
  { kind: "RetrainJob", factory: retrainJobControllerFromConfig, needsMonitor: true, needsRetrainJobs: true },
  { kind: "ConsentRecord", factory: consentRecordControllerFromConfig, needsMonitor: true },
];

export const controllers: ControllerFactory[] = registry.filter((r) => !r.needsMonitor).map((r) => r.factory);

/** The factories to run for this configuration. */
export function controllersFor(opts: {
  monitorUrl?: string | undefined;
  retrainJobs?: boolean;
}): ControllerFactory[] {
  return registry
    .filter((r) => (!r.needsMonitor || opts.monitorUrl) && (!r.needsRetrainJobs || opts.retrainJobs))
    .map((r) => r.factory);
}
