/**
 * Compensation: entering COMPENSATING with the PARTIAL failure, each compensation journaled as started and as
 * completed or failed, its durable retry, and the end.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { FaultSource } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import type { Lease } from './leases.js';
import { translated } from './sqlstate-errors.js';

export async function beginCompensation(
  db: Queryable,
  lease: Lease,
  args: { errorJson: string; source: FaultSource; stepKey?: string | undefined; attempt?: number | undefined; retriesExhausted: boolean },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.begin_compensation(p_execution_id => $1, p_token => $2, p_error => $3::jsonb, p_source => $4,
                                      p_step_key => $5, p_attempt => $6, p_retries_exhausted => $7)`,
      [lease.executionId, lease.token, args.errorJson, args.source, args.stepKey ?? null, args.attempt ?? null, args.retriesExhausted],
    ),
  );
}

/** Journals a compensation event; 'started' returns the compensation's attempt. */
export async function recordCompensation(
  db: Queryable,
  lease: Lease,
  args: { stepKey: string; event: 'started' | 'completed' | 'failed'; attempt?: number; payloadJson?: string | null },
): Promise<number> {
  const [row] = await translated(
    db.query<{ attempt: number }>(
      `SELECT aries.record_compensation(p_execution_id => $1, p_token => $2, p_step_key => $3, p_event => $4,
                                       p_attempt => $5, p_payload => $6::jsonb) AS attempt`,
      [lease.executionId, lease.token, args.stepKey, args.event, args.attempt ?? null, args.payloadJson ?? null],
    ),
  );
  return row!.attempt;
}

export async function retryCompensation(
  db: Queryable,
  lease: Lease,
  args: { stepKey: string; attempt: number; errorJson: string; delayMs: number; source: FaultSource },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.retry_compensation(p_execution_id => $1, p_token => $2, p_step_key => $3, p_attempt => $4,
                                      p_error => $5::jsonb, p_delay_ms => $6, p_source => $7)`,
      [lease.executionId, lease.token, args.stepKey, args.attempt, args.errorJson, args.delayMs, args.source],
    ),
  );
}

export async function finishCompensation(db: Queryable, lease: Lease): Promise<void> {
  await translated(
    db.query('SELECT aries.finish_compensation(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]),
  );
}
