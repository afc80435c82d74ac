/**
 * Phase 9, version status: per version its phase (Pending, Loading, Ready, Failed, Retired), ready replicas,
 * digest and validation verdict, with a VersionFailed Warning when a version turns Failed.
 */
import { phaseOf } from "../health.ts";
import type { DecisionState } from "./state.ts";
import { EVENT_REASON } from "../reasons.ts";

export function versionStatus(s: DecisionState): void {
  const prevPhases = new Map((s.previous.versions ?? []).map((v) => [v.name, v.phase]));
  s.versions = s.spec.versions.map((v) => {
    const h = s.health(v.name);
    const planned = s.replicas[v.name] ?? 0;
    const { phase, message } = phaseOf(h, planned);
    if (phase === "Failed" && prevPhases.get(v.name) !== "Failed") {
      s.events.push({
        type: "Warning",
        reason: EVENT_REASON.VersionFailed,
        action: "Load",
        note: `${v.name}: ${message}`,
      });
    }
    const verdict = s.verdicts[v.name];
    return {
      name: v.name,
      phase,
      readyReplicas: h?.readyReplicas ?? 0,
      digest: v.source.sha256,
      ...(verdict !== undefined ? { validated: verdict === "Passed" } : {}),
      ...(message !== undefined ? { message } : {}),
    };
  });
}
