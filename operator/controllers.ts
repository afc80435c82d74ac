/**
 * The controllers `medmlops operator` runs. Add a factory here to register a controller; the manager builds each
 * with the shared cache, client, event recorder and config (see operator/runtime/types.ts) and starts it once
 * the informer caches are synced (and, with --leader-elect, once this replica leads).
 *
 * Example: import { medModelController } from "./medmodel/index.ts";  …  export const controllers = [medModelController];
 */
import { medModelController } from "./medmodel/index.ts";
import type { ControllerFactory } from "./runtime/index.ts";

export const controllers: ControllerFactory[] = [medModelController];
