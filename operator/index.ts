/** The operator room's door: the runtime contract and the manager. Controllers live in operator/<kind>/. */
export * from "./runtime/index.ts";
export { Manager, type ManagerOptions, type LeaderElectionOptions, defaultIdentity } from "./manager.ts";
