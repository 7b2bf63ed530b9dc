/**
 * Retention: the policies (per workflow and the default), one bounded purge pass, and what a purged
 * execution left behind (its retained idempotency key).
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { RetentionPolicy, StoredRetentionPolicy } from '../core/retention-policy.js';
import type { ExecutionStatus } from '../core/execution-states.js';
import type { Queryable } from './database.js';
import { isUuid } from './executions.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** The stored key of the default policy (no workflow can be named '*'). */
const DEFAULT_POLICY = '*';

/** An operator's policy for one workflow, or the default (workflow null); a deploy does not overwrite it. */
export async function setRetentionPolicy(db: Queryable, workflow: string | null, policy: RetentionPolicy): Promise<void> {
  await translated(
    db.query('SELECT aries.set_retention_policy(p_workflow => $1, p_finished_ms => $2, p_idempotency_keys_ms => $3)', [
      workflow,
      policy.finishedMs ?? null,
      policy.idempotencyKeysMs ?? null,
    ]),
  );
}

/** Removes the policy of one workflow (or the default); true when there was one. */
export async function clearRetentionPolicy(db: Queryable, workflow: string | null): Promise<boolean> {
  const [row] = await translated(
    db.query<{ cleared: boolean }>('SELECT aries.clear_retention_policy(p_workflow => $1) AS cleared', [workflow]),
  );
  return row!.cleared;
}

/** The policy a definition declares (undefined: none), recorded as the workflow is registered. */
export async function registerRetentionPolicy(db: Queryable, workflow: string, policy: RetentionPolicy | undefined): Promise<void> {
  await translated(
    db.query('SELECT aries.register_retention_policy(p_workflow => $1, p_finished_ms => $2, p_idempotency_keys_ms => $3)', [
      workflow,
      policy?.finishedMs ?? null,
      policy?.idempotencyKeysMs ?? null,
    ]),
  );
}

interface PolicyRow {
  workflow_name: string;
  finished_ms: string | number | null;
  idempotency_keys_ms: string | number | null;
  source: 'definition' | 'operator';
  updated_at: Date | string;
}

const toMs = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** Every stored policy, the default first, then by workflow name. */
export async function listRetentionPolicies(db: Queryable): Promise<StoredRetentionPolicy[]> {
  const rows = await db.query<PolicyRow>(
    `SELECT workflow_name, finished_ms, idempotency_keys_ms, source, updated_at FROM aries.retention_policies
      ORDER BY workflow_name <> $1, workflow_name`,
    [DEFAULT_POLICY],
  );
  return rows.map((r) => ({
    workflow: r.workflow_name === DEFAULT_POLICY ? null : r.workflow_name,
    finishedMs: toMs(r.finished_ms),
    idempotencyKeysMs: toMs(r.idempotency_keys_ms),
    source: r.source,
    updatedAt: toDate(r.updated_at),
  }));
}

export interface PurgeResult {
  /** Executions deleted (children with their parents). */
  executions: number;
  /** Idempotency keys of deleted executions kept longer than their bodies. */
  keysKept: number;
  /** Kept idempotency keys deleted because they expired. */
  keysExpired: number;
}

/** One bounded purge pass (aries.purge_finished): at most batchSize executions and batchSize expired keys. */
export async function purgeFinished(db: Queryable, batchSize: number): Promise<PurgeResult> {
  const [row] = await translated(
    db.query<{ executions: number; keys_kept: number; keys_expired: number }>(
      'SELECT * FROM aries.purge_finished(p_batch => $1)',
      [batchSize],
    ),
  );
  return { executions: row!.executions, keysKept: row!.keys_kept, keysExpired: row!.keys_expired };
}

export interface RetainedExecution {
  executionId: string;
  idempotencyKey: string;
  workflow: string;
  status: ExecutionStatus;
  finishedAt: Date;
  expiresAt: Date;
}

/** What retention kept of a purged execution: its idempotency key, while that is kept (undefined otherwise). */
export async function getRetainedExecution(db: Queryable, executionId: string): Promise<RetainedExecution | undefined> {
  if (!isUuid(executionId)) return undefined;
  const [row] = await db.query<{
    execution_id: string;
    idempotency_key: string;
    workflow_name: string;
    status: ExecutionStatus;
    finished_at: Date | string;
    expires_at: Date | string;
  }>(
    `SELECT execution_id, idempotency_key, workflow_name, status, finished_at, expires_at
       FROM aries.retained_idempotency_keys WHERE execution_id = $1 AND expires_at > aries.now()`,
    [executionId],
  );
  if (!row) return undefined;
  return {
    executionId: row.execution_id,
    idempotencyKey: row.idempotency_key,
    workflow: row.workflow_name,
    status: row.status,
    finishedAt: toDate(row.finished_at),
    expiresAt: toDate(row.expires_at),
  };
}
