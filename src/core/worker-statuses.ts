/**
 * What a registered worker is now, judged on the database clock by aries.worker_status: live
 * (heartbeating), stale (no heartbeat for three lease lengths: dead or cut off; its leases expire and other
 * workers resume its executions) or stopped (it stopped cleanly).
 */
export const WORKER_STATUSES = ['live', 'stale', 'stopped'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];
