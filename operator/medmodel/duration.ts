/** Moved to the runtime so every controller parses spec durations the same way. */
export { parseDurationMs } from "../runtime/duration.ts";
