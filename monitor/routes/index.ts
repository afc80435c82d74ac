import { audit } from "./audit.ts";
import { health } from "./health.ts";
import { metrics } from "./metrics.ts";
import type { RouteModule } from "./types.ts";

export type { RouteModule } from "./types.ts";

/** Every route module of the monitor, in registration order. Add yours here (one line, one file). */
export const routeModules: RouteModule[] = [health, metrics, audit];
