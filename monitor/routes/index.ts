import { annotations } from "./annotations.ts";
import { audit } from "./audit.ts";
import { datasets } from "./datasets.ts";
import { consent } from "./consent.ts";
import { health } from "./health.ts";
import { policies } from "./policies.ts";
import { records } from "./records.ts";
import { references } from "./references.ts";
import type { RouteModule } from "./types.ts";
import { worklist } from "./worklist.ts";

export type { RouteModule } from "./types.ts";

/** Every route module of the monitor, in registration order. Add yours here (one line, one file). */
export const routeModules: RouteModule[] = [
  health,
  records,
  annotations,
  references,
  policies,
  worklist,
  consent,
  audit,
  datasets,
];
