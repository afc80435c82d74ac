/**
 * A person lifts a policy's Suspend by annotating the MedModel (the object clinicians and IT see suspended):
 *
 *   kubectl annotate medmodel cxr-triage medmlops.io/resume-episode=<episode key> \
 *     medmlops.io/resumed-by=<who> medmlops.io/resume-reason=<why>
 *
 * The episode key is in the MedModel's Suspended condition and the SuspendRequested event; naming it means a
 * stale annotation can never pre-lift a future suspension. Who and why are required (EU AI Act Art. 14: a
 * human decides to resume), end up in the episode's `resumed` and in the audit log, and must not hold PHI.
 */
import { ANNOTATIONS, type ResumeRequest } from "./types.ts";

const clean = (v: string | undefined, max: number) => {
  const s = v?.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return s ? s.slice(0, max) : undefined;
};

export type ResumeParse =
  | { ok: true; request: ResumeRequest }
  | { ok: false; episode: string; missing: string[] };

/** undefined when no resume is asked for. */
export function parseResume(annotations: Record<string, string>): ResumeParse | undefined {
  const episode = clean(annotations[ANNOTATIONS.resumeEpisode], 63);
  if (episode === undefined) return undefined;
  const by = clean(annotations[ANNOTATIONS.resumedBy], 253);
  const reason = clean(annotations[ANNOTATIONS.resumeReason], 1024);
  const missing = [
    ...(by === undefined ? [ANNOTATIONS.resumedBy] : []),
    ...(reason === undefined ? [ANNOTATIONS.resumeReason] : []),
  ];
  if (by === undefined || reason === undefined) return { ok: false, episode, missing };
  return { ok: true, request: { episode, by, reason } };
}
