/**
 * Queues as the database knows them: registering a definition's limits, an operator's runtime change,
 * and the limits with live stats.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { QueueLimits } from '../core/queue-limits.js';
import type { Queryable } from './database.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** Records a queue as the code defines it; an operator's change (setQueue) is not overwritten. */
export async function registerQueue(db: Queryable, name: string, limits: QueueLimits): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.register_queue(p_name => $1, p_concurrency => $2, p_worker_concurrency => $3,
                                   p_key_concurrency => $4, p_rate_limit => $5, p_rate_period_ms => $6)`,
      [name, ...limitArgs(limits)],
    ),
  );
}

/** An operator's change: each given limit replaces the current one; `null` removes it (unlimited). */
export interface QueueChange {
  concurrency?: number | null;
  workerConcurrency?: number | null;
  keyConcurrency?: number | null;
  rateLimit?: { limit: number; periodMs: number } | null;
  paused?: boolean;
}

/** Changes a queue at runtime (taken into account by the next claim). UnknownQueueError for an unknown one. */
export async function setQueue(db: Queryable, name: string, change: QueueChange): Promise<QueueInfo> {
  const clear = (
    [
      ['concurrency', 'concurrency'],
      ['workerConcurrency', 'worker_concurrency'],
      ['keyConcurrency', 'key_concurrency'],
      ['rateLimit', 'rate_limit'],
    ] as const
  )
    .filter(([key]) => change[key] === null)
    .map(([, column]) => column);
  await translated(
    db.query(
      `SELECT 1 FROM aries.set_queue(p_name => $1, p_concurrency => $2, p_worker_concurrency => $3,
                                     p_key_concurrency => $4, p_rate_limit => $5, p_rate_period_ms => $6,
                                     p_paused => $7, p_clear => $8::text[])`,
      [
        name,
        change.concurrency ?? null,
        change.workerConcurrency ?? null,
        change.keyConcurrency ?? null,
        change.rateLimit?.limit ?? null,
        change.rateLimit?.periodMs ?? null,
        change.paused ?? null,
        clear,
      ],
    ),
  );
  const [info] = await listQueues(db, name);
  return info!;
}

/** A queue's limits (null: unlimited) and live stats, on the database clock. */
export interface QueueInfo {
  name: string;
  concurrency: number | null;
  workerConcurrency: number | null;
  keyConcurrency: number | null;
  rateLimit: { limit: number; periodMs: number } | null;
  paused: boolean;
  /** Who set the limits last: the code's definition, or an operator (then a deploy keeps them). */
  source: 'definition' | 'operator';
  createdAt: Date;
  updatedAt: Date;
  /** PENDING and due. */
  pending: number;
  /** PENDING, not due yet (a delay, a debounce, a retry's backoff). */
  delayed: number;
  /** Holding a slot (a lease owner). */
  running: number;
  /** SLEEPING or WAITING: holding no slot. */
  waiting: number;
  /** How long the oldest due PENDING one has been due (null: none). */
  oldestDueMs: number | null;
  /** First starts within the rate window (null: no rate limit). */
  startedInWindow: number | null;
}

interface QueueRow {
  name: string;
  concurrency: number | null;
  worker_concurrency: number | null;
  key_concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: number | string | null;
  paused: boolean;
  source: 'definition' | 'operator';
  created_at: Date | string;
  updated_at: Date | string;
  pending: number | string;
  delayed: number | string;
  running: number | string;
  waiting: number | string;
  oldest_due_ms: number | null;
  started_in_window: number | string | null;
}

/** Every queue by name (or the one named), with limits and stats (aries.list_queues). */
export async function listQueues(db: Queryable, name: string | null = null): Promise<QueueInfo[]> {
  const rows = await translated(db.query<QueueRow>('SELECT * FROM aries.list_queues(p_name => $1)', [name]));
  return rows.map((r) => ({
    name: r.name,
    concurrency: r.concurrency,
    workerConcurrency: r.worker_concurrency,
    keyConcurrency: r.key_concurrency,
    rateLimit: r.rate_limit === null ? null : { limit: r.rate_limit, periodMs: Number(r.rate_period_ms) },
    paused: r.paused,
    source: r.source,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    pending: Number(r.pending),
    delayed: Number(r.delayed),
    running: Number(r.running),
    waiting: Number(r.waiting),
    oldestDueMs: r.oldest_due_ms === null ? null : Math.max(0, Number(r.oldest_due_ms)),
    startedInWindow: r.started_in_window === null ? null : Number(r.started_in_window),
  }));
}

function limitArgs(limits: QueueLimits): (number | null)[] {
  return [
    limits.concurrency ?? null,
    limits.workerConcurrency ?? null,
    limits.keyConcurrency ?? null,
    limits.rateLimit?.limit ?? null,
    limits.rateLimit?.periodMs ?? null,
  ];
}
