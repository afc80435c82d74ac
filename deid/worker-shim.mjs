// Runs deid/worker.ts in a worker thread from a source checkout (no build): workers do not inherit the
// TypeScript loader of the main thread, so register tsx here first.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
