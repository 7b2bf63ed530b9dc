/**
 * Whether a worker may still act on a lease, judged by its own monotonic clock, before it starts anything
 * with an effect outside the database (a step body, a compensation, a transactional step's statements).
 *
 * A lease confirmed by a request SENT at monotonic time t (a claim, or a renewal that found it held) lasts
 * until at least t + leaseMs in real time: the database set its expiry to its own now + leaseMs after t.
 * So the worker trusts the lease while now − t < leaseMs − margin, the margin a quarter of the lease
 * (LEASE_MARGIN_FRACTION) for clock-rate differences and the time from the check to the effect. The
 * heartbeat renews every third of the lease, so a healthy worker's confirmation is at most a third of the
 * lease plus one round trip old, well inside that bound: the check costs it nothing. A worker that was
 * stopped (SIGSTOP, a long GC pause, a blocked event loop) finds its confirmation stale when it resumes,
 * renews first (one round trip), and abandons the execution if the renewal fails or finds the lease
 * taken over, before the body starts. A stall inside a body remains possible: the idempotency key
 * covers that one, and the fencing token every write after it.
 *
 * performance.now() counts the time a process is stopped, but not a machine's suspend (CLOCK_MONOTONIC);
 * after a suspend the fencing token still refuses every write of a worker whose lease was taken over.
 */

/** The part of the lease kept in reserve: a confirmation older than lease × (1 − this) is stale. */
export const LEASE_MARGIN_FRACTION = 0.25;

/** How old (ms, monotonic) a confirmation of a lease of `leaseMs` may be for the lease to be trusted. */
export function leaseTrustMs(leaseMs: number): number {
  return leaseMs - leaseMs * LEASE_MARGIN_FRACTION;
}

/** True while a lease confirmed by a request sent at `confirmedAt` (performance.now()) may be acted on. */
export function leaseIsFresh(confirmedAt: number, now: number, leaseMs: number): boolean {
  return now - confirmedAt < leaseTrustMs(leaseMs);
}

/**
 * Asked by a run before each step body, transactional step and compensation: undefined (no wait, the
 * common case) when the lease is fresh; else a promise that resolves once a renewal confirmed it, or
 * rejects with LeaseLostError after the run's abort signal was set (taken over, or not renewable).
 */
export type ConfirmLease = () => Promise<void> | undefined;
