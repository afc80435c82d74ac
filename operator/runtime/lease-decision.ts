/**
 * The leader-election decision, pure (client-go's leaderelection semantics):
 * a lease held by someone else counts as expired only when its record (holder + renewTime) has not changed for
 * leaseDuration as measured on OUR clock since we first saw that record — so clock skew between replicas does
 * not matter.
 */
export interface LeaseRecord {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface Observation {
  /** holderIdentity + renewTime of the record last seen. */
  fingerprint: string;
  /** Local time (ms) when that record was first seen. */
  observedAtMs: number;
}

export type LeaseAction =
  | { action: "create" }
  | { action: "renew" }
  | { action: "acquire"; previousHolder: string }
  | { action: "wait"; holder: string; expiresInMs: number };

export function fingerprint(rec: LeaseRecord): string {
  return `${rec.holderIdentity ?? ""}|${rec.renewTime ?? ""}|${rec.leaseTransitions ?? 0}`;
}

/** Updates the observation: a changed record restarts the expiry clock. */
export function observe(prev: Observation | undefined, rec: LeaseRecord, nowMs: number): Observation {
  const fp = fingerprint(rec);
  return prev && prev.fingerprint === fp ? prev : { fingerprint: fp, observedAtMs: nowMs };
}

export function decideLease(input: {
  lease: LeaseRecord | undefined;
  identity: string;
  observation: Observation | undefined;
  nowMs: number;
  leaseDurationMs: number;
}): LeaseAction {
  const { lease, identity, observation, nowMs, leaseDurationMs } = input;
  if (!lease) return { action: "create" };
  const holder = lease.holderIdentity ?? "";
  if (holder === identity) return { action: "renew" };
  if (holder === "") return { action: "acquire", previousHolder: "" };
  const duration = lease.leaseDurationSeconds ? lease.leaseDurationSeconds * 1000 : leaseDurationMs;
  const seenAt =
    observation && observation.fingerprint === fingerprint(lease) ? observation.observedAtMs : nowMs;
  const expiresInMs = seenAt + duration - nowMs;
  if (expiresInMs <= 0) return { action: "acquire", previousHolder: holder };
  return { action: "wait", holder, expiresInMs };
}

/** While leading: leadership is lost once no renewal succeeded for renewDeadline. */
export function leadershipLost(lastRenewMs: number, nowMs: number, renewDeadlineMs: number): boolean {
  return nowMs - lastRenewMs >= renewDeadlineMs;
}
