/**
 * The workers registry (aries.workers): a worker registers at start, heartbeats whether or not it holds
 * leases, and deregisters on a clean stop; list_workers joins the registry with the leases held, and
 * judges each worker live, stale (heartbeat older than three lease lengths) or stopped on the database
 * clock. One typed wrapper per SQL function, called with named arguments.
 */
import type { WorkerStatus } from '../core/worker-statuses.js';
import type { Queryable } from './database.js';
import { translated } from './sqlstate-errors.js';

export interface WorkerRegistration {
  workerId: string;
  host: string;
  pid: number;
  /** "name@version" keys. */
  workflows: string[];
  concurrency: number;
  leaseMs: number;
}

export async function registerWorker(db: Queryable, w: WorkerRegistration): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.register_worker(p_worker_id => $1, p_host => $2, p_pid => $3, p_workflows => $4::text[],
                                    p_concurrency => $5, p_lease_ms => $6)`,
      [w.workerId, w.host, w.pid, w.workflows, w.concurrency, w.leaseMs],
    ),
  );
}

/** False when the worker has no live row (pruned, or marked stopped): it should register again. */
export async function heartbeatWorker(db: Queryable, workerId: string): Promise<boolean> {
  const [row] = await translated(db.query<{ ok: boolean }>('SELECT aries.heartbeat_worker(p_worker_id => $1) AS ok', [workerId]));
  return row?.ok === true;
}

export async function deregisterWorker(db: Queryable, workerId: string): Promise<boolean> {
  const [row] = await translated(db.query<{ ok: boolean }>('SELECT aries.deregister_worker(p_worker_id => $1) AS ok', [workerId]));
  return row?.ok === true;
}

export interface WorkerInfo {
  worker: string;
  status: WorkerStatus;
  /** Registry fields; null for a lease owner that has no registry row. */
  host: string | null;
  pid: number | null;
  workflows: string[];
  concurrency: number | null;
  leaseMs: number | null;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  stoppedAt: Date | null;
  /** Leases held now. */
  executions: number;
  compensating: number;
  earliestLeaseExpiry: Date | null;
  latestLeaseExpiry: Date | null;
  /** Leases past their expiry: the worker is presumed dead, and another will resume these executions. */
  expired: number;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/** Every registered worker (idle ones included) and every lease owner, live ones first (aries.list_workers). */
export async function listWorkers(db: Queryable): Promise<WorkerInfo[]> {
  const rows = await translated(
    db.query<{
      worker: string;
      status: WorkerStatus;
      host: string | null;
      pid: number | null;
      workflows: string[] | null;
      concurrency: number | null;
      lease_ms: number | null;
      started_at: Date | string | null;
      heartbeat_at: Date | string | null;
      stopped_at: Date | string | null;
      executions: number | string;
      compensating: number | string;
      earliest_lease_expiry: Date | string | null;
      latest_lease_expiry: Date | string | null;
      expired: number | string;
    }>('SELECT * FROM aries.list_workers()'),
  );
  return rows.map((r) => ({
    worker: r.worker,
    status: r.status,
    host: r.host,
    pid: r.pid,
    workflows: r.workflows ?? [],
    concurrency: r.concurrency,
    leaseMs: r.lease_ms,
    startedAt: date(r.started_at),
    heartbeatAt: date(r.heartbeat_at),
    stoppedAt: date(r.stopped_at),
    executions: Number(r.executions),
    compensating: Number(r.compensating),
    earliestLeaseExpiry: date(r.earliest_lease_expiry),
    latestLeaseExpiry: date(r.latest_lease_expiry),
    expired: Number(r.expired),
  }));
}
