/**
 * Episodes: a breach (or a drift) of one version lasts from the evaluation where something first fires until
 * `recoverAfter` evaluations in a row (spec.schedule.recoveryEvaluations, default 2) found nothing of that type
 * for the version. That is the hysteresis: a metric whose confidence bound hovers at its floor passes one
 * evaluation and fails the next; with one clean evaluation ending the episode, each dip would open a new
 * episode and act again (a second failover request, a second RetrainJob, another page). A finding during the
 * recovery count resets it and the same episode goes on, silently. A version removed from the model ends its
 * episode at once (nothing left to recover). Actions, events and audit entries
 * happen at an episode's edges, never per evaluation, and the episode lives in the policy's status — so
 * re-evaluations, operator restarts and leader changes see it and repeat nothing.
 *
 * The key is derived from (namespace, policy, type, version, start time) only: the same episode always has
 * the same key, and it names the episode's RetrainJob.
 */
import { createHash } from "node:crypto";
import type { Finding } from "./verdict.ts";
import type { Episode } from "./types.ts";

export const MAX_EPISODES = 32;
const MAX_REASON = 1024;

export type EpisodeType = Episode["type"];

export function episodeKey(
  namespace: string,
  policy: string,
  type: EpisodeType,
  version: string,
  startedAt: string,
): string {
  const hash = createHash("sha256")
    .update(`${namespace}/${policy}/${type}/${version}/${startedAt}`)
    .digest("hex")
    .slice(0, 10);
  const v = version.slice(0, 40).replace(/-+$/, "");
  return `${type === "Breach" ? "breach" : "drift"}-${v}-${hash}`;
}

export function summarize(findings: readonly Finding[], max = MAX_REASON): string {
  const text = findings.map((f) => f.message).join("; ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface EpisodeChange {
  episodes: Episode[];
  opened: Episode[];
  closed: Episode[];
}

/** spec.schedule.recoveryEvaluations' default. */
export const RECOVERY_EVALUATIONS_DEFAULT = 2;

/**
 * Open, keep or close episodes after a successful evaluation. `recoverAfter` (≥ 1): evaluations in a row
 * without a finding that end an open episode.
 */
export function updateEpisodes(
  previous: readonly Episode[] | undefined,
  findings: Record<EpisodeType, readonly Finding[]>,
  versions: readonly string[],
  ids: { namespace: string; policy: string },
  at: string,
  recoverAfter: number = RECOVERY_EVALUATIONS_DEFAULT,
): EpisodeChange {
  const episodes = (previous ?? []).map((e) => ({ ...e }));
  const opened: Episode[] = [];
  const closed: Episode[] = [];
  for (const ep of episodes) {
    if (ep.endedAt !== undefined) continue;
    const gone = !versions.includes(ep.version);
    const fires = !gone && findings[ep.type].some((f) => f.version === ep.version);
    if (fires) {
      delete ep.clearEvaluations;
      continue;
    }
    const clear = (ep.clearEvaluations ?? 0) + 1;
    if (gone || clear >= Math.max(1, recoverAfter)) {
      delete ep.clearEvaluations;
      ep.endedAt = at;
      closed.push(ep);
    } else ep.clearEvaluations = clear;
  }
  for (const type of ["Breach", "Drift"] as const) {
    for (const version of versions) {
      const fired = findings[type].filter((f) => f.version === version);
      if (fired.length === 0) continue;
      if (episodes.some((e) => e.type === type && e.version === version && e.endedAt === undefined)) continue;
      const ep: Episode = {
        key: episodeKey(ids.namespace, ids.policy, type, version, at),
        type,
        version,
        startedAt: at,
        reason: summarize(fired),
      };
      episodes.push(ep);
      opened.push(ep);
    }
  }
  return { episodes: prune(episodes), opened, closed };
}

/** A closed episode whose Suspend no person has lifted yet still holds the model: never drop it. */
export function holdsSuspension(ep: Episode): boolean {
  return (ep.actions ?? []).includes("Suspend") && ep.resumed === undefined;
}

/** At most MAX_EPISODES: open ones and unlifted suspensions first, then the most recently closed. */
function prune(episodes: Episode[]): Episode[] {
  if (episodes.length <= MAX_EPISODES) return episodes;
  const keep = (e: Episode) => e.endedAt === undefined || holdsSuspension(e);
  const pinned = episodes.filter(keep);
  const rest = episodes
    .filter((e) => !keep(e))
    .sort((a, b) => (b.endedAt ?? "").localeCompare(a.endedAt ?? ""))
    .slice(0, Math.max(0, MAX_EPISODES - pinned.length));
  const kept = new Set([...pinned, ...rest]);
  return episodes.filter((e) => kept.has(e));
}
