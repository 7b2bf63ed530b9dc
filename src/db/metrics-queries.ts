/**
 * The database gauges of the metrics endpoint, read at scrape time in one statement. Every count is of an
 * unfinished status through its index (the partial indexes of the claim and the status index), so a
 * scrape costs what the unfinished executions cost, not the table: finished ones are never read.
 *
 *   queue_depth     executions_runnable_idx   PENDING, available_at <= now
 *   pending         executions_runnable_idx   PENDING
 *   running         executions_lease_idx      RUNNING
 *   expired_leases  executions_lease_idx      RUNNING, lease_expires_at < now
 *   compensating    executions_compensating_idx
 *   failed          executions_status_idx     (status, created_at)
 */
import type { DatabaseGauges } from '../core/aries-metrics.js';
import type { Queryable } from './database.js';

const GAUGES_SQL = `
SELECT
  (SELECT count(*) FROM aries.executions WHERE status = 'PENDING' AND available_at <= aries.now()) AS queue_depth,
  (SELECT count(*) FROM aries.executions WHERE status = 'PENDING') AS pending,
  (SELECT count(*) FROM aries.executions WHERE status = 'RUNNING') AS running,
  (SELECT count(*) FROM aries.executions WHERE status = 'RUNNING' AND lease_expires_at < aries.now()) AS expired_leases,
  (SELECT count(*) FROM aries.executions WHERE status = 'COMPENSATING') AS compensating,
  (SELECT count(*) FROM aries.executions WHERE status = 'FAILED') AS failed`;

type Count = number | string; // bigint: a string from node-postgres, a number from PGlite

export async function readDatabaseGauges(db: Queryable): Promise<DatabaseGauges> {
  const [row] = await db.query<Record<'queue_depth' | 'pending' | 'running' | 'expired_leases' | 'compensating' | 'failed', Count>>(GAUGES_SQL);
  if (!row) throw new Error('the metrics query returned no row');
  return {
    queueDepth: Number(row.queue_depth),
    executions: {
      PENDING: Number(row.pending),
      RUNNING: Number(row.running),
      COMPENSATING: Number(row.compensating),
      FAILED: Number(row.failed),
    },
    expiredLeases: Number(row.expired_leases),
  };
}
