/**
 * Waits and signals: beginning a wait (sleep, signal, child), settling the first that came or suspending
 * the execution, cancelling waits a run no longer awaits, moving the fencing token at a step's deadline,
 * and the mailbox (send_signal, signal_with_start).
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { StoredError } from '../core/stored-error.js';
import type { Queryable } from './database.js';
import type { Lease } from './leases.js';
import type { StartPlacement } from './executions.js';
import { translated } from './sqlstate-errors.js';

export type WaitKind = 'sleep' | 'signal' | 'child';

export interface WaitStart {
  seq: number;
  stepKey: string;
  kind: 'sleep' | 'signal';
  /** From now, on the database clock; or `until`. */
  delayMs?: number | undefined;
  until?: Date | undefined;
  signalName?: string | undefined;
}

/** Records the wait; resolves with when it resolves by itself (null: never). */
export async function beginWait(db: Queryable, lease: Lease, w: WaitStart): Promise<Date | null> {
  const [row] = await translated(
    db.query<{ wake_at: Date | string | null }>(
      `SELECT aries.begin_wait(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4, p_kind => $5,
                               p_delay_ms => $6, p_until => $7, p_signal_name => $8) AS wake_at`,
      [lease.executionId, lease.token, w.seq, w.stepKey, w.kind, w.delayMs ?? null, w.until ?? null, w.signalName ?? null],
    ),
  );
  return row?.wake_at == null ? null : new Date(row.wake_at);
}

export interface ChildStart {
  seq: number;
  stepKey: string;
  workflow: string;
  version: string | null;
  inputJson: string | null;
  timeoutMs?: number | undefined;
  parentClose: 'cancel' | 'abandon';
  /** The child's own deadline (its workflow's timeoutMs). */
  childTimeoutMs?: number | undefined;
}

/** Begins the child wait and starts the child in one transaction; resolves with the child's id. */
export async function startChild(db: Queryable, lease: Lease, c: ChildStart): Promise<string> {
  const [row] = await translated(
    db.query<{ child_id: string }>(
      `SELECT aries.start_child(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4, p_workflow => $5,
                                p_version => $6, p_input => $7::jsonb, p_timeout_ms => $8, p_parent_close => $9,
                                p_child_timeout_ms => $10) AS child_id`,
      [lease.executionId, lease.token, c.seq, c.stepKey, c.workflow, c.version, c.inputJson, c.timeoutMs ?? null, c.parentClose,
        c.childTimeoutMs === undefined ? null : Math.ceil(c.childTimeoutMs)],
    ),
  );
  return row!.child_id;
}

export type AwaitOutcome =
  | { outcome: 'completed'; stepKey: string; output: unknown; lsn: number }
  | { outcome: 'failed'; stepKey: string; error: StoredError; lsn: number }
  | { outcome: 'suspended'; status: 'SLEEPING' | 'WAITING'; availableAt: Date | null; dueInMs: number | null };

/** Settles the first of the open waits that came, or suspends the execution (see aries.await_waits). */
export async function awaitWaits(db: Queryable, lease: Lease, open: readonly string[], cancel: readonly string[]): Promise<AwaitOutcome> {
  const [row] = await translated(
    db.query<{
      step_key: string | null;
      outcome: 'completed' | 'failed' | 'suspended';
      output: unknown;
      error: StoredError | null;
      resolved_lsn: number | string;
      status: 'SLEEPING' | 'WAITING' | 'RUNNING';
      available_at: Date | string | null;
      due_in_ms: number | null;
    }>(
      `SELECT * FROM aries.await_waits(p_execution_id => $1, p_token => $2, p_open => $3::text[], p_cancel => $4::text[])`,
      [lease.executionId, lease.token, open, cancel],
    ),
  );
  if (!row) throw new Error('await_waits returned no row');
  if (row.outcome === 'suspended') {
    const at = row.available_at === null ? null : new Date(row.available_at);
    return {
      outcome: 'suspended',
      status: row.status as 'SLEEPING' | 'WAITING',
      availableAt: at && Number.isFinite(at.getTime()) ? at : null,
      dueInMs: row.due_in_ms === null ? null : Number(row.due_in_ms),
    };
  }
  if (row.outcome === 'completed') return { outcome: 'completed', stepKey: row.step_key!, output: row.output, lsn: Number(row.resolved_lsn) };
  return { outcome: 'failed', stepKey: row.step_key!, error: row.error!, lsn: Number(row.resolved_lsn) };
}

/** A wait's row as tracing reads it once it ended: when it began and ended, on the database clock. */
export interface EndedWait {
  stepKey: string;
  kind: WaitKind;
  createdAt: Date;
  resolvedAt: Date | null;
  /** A sleep's wake time, or a signal or child wait's timeout; null: none. */
  wakeAt: Date | null;
  signalName: string | null;
  childId: string | null;
}

/** The waits rows of `keys` (a wait's span is drawn from them after it ended). */
export async function readWaits(db: Queryable, executionId: string, keys: readonly string[]): Promise<EndedWait[]> {
  const rows = await translated(
    db.query<{
      step_key: string;
      kind: WaitKind;
      created_at: Date | string;
      resolved_at: Date | string | null;
      wake_at: Date | string | null;
      signal_name: string | null;
      child_id: string | null;
    }>(
      `SELECT step_key, kind, created_at, resolved_at, wake_at, signal_name, child_id FROM aries.waits
        WHERE execution_id = $1 AND step_key = ANY ($2::text[])`,
      [executionId, keys],
    ),
  );
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return rows.map((r) => ({
    stepKey: r.step_key,
    kind: r.kind,
    createdAt: new Date(r.created_at),
    resolvedAt: date(r.resolved_at),
    wakeAt: date(r.wake_at),
    signalName: r.signal_name,
    childId: r.child_id,
  }));
}

/** Cancels open waits the run no longer awaits (lost races, waits open when the workflow returned). */
export async function abandonWaits(db: Queryable, lease: Lease, keys: readonly string[], reason: string): Promise<number> {
  const [row] = await translated(
    db.query<{ n: number }>(
      'SELECT aries.abandon_waits(p_execution_id => $1, p_token => $2, p_keys => $3::text[], p_reason => $4) AS n',
      [lease.executionId, lease.token, keys, reason],
    ),
  );
  return row?.n ?? 0;
}

/** Moves the fencing token on at a step attempt's deadline; null when the attempt had completed first. */
export async function timeOutStep(db: Queryable, lease: Lease, stepKey: string, attempt: number): Promise<number | null> {
  const [row] = await translated(
    db.query<{ token: number | string | null }>(
      'SELECT aries.time_out_step(p_execution_id => $1, p_token => $2, p_step_key => $3, p_attempt => $4) AS token',
      [lease.executionId, lease.token, stepKey, attempt],
    ),
  );
  return row?.token == null ? null : Number(row.token);
}

/** Cancels an execution's children under way started with parentClose 'cancel' (compensate: with their compensations run). */
export async function cancelChildren(db: Queryable, parentId: string, reason: string, compensate = false): Promise<number> {
  const [row] = await translated(
    db.query<{ n: number }>('SELECT aries.cancel_children(p_parent_id => $1, p_reason => $2, p_compensate => $3) AS n', [
      parentId,
      reason,
      compensate,
    ]),
  );
  return row?.n ?? 0;
}

export interface SentSignal {
  signalId: string;
  duplicate: boolean;
}

/** Puts a signal in an execution's mailbox, in the transaction of `db` when it is one. */
export async function sendSignal(
  db: Queryable,
  args: { executionId: string; name: string; payloadJson: string | null; idempotencyKey: string | null },
): Promise<SentSignal> {
  const [row] = await translated(
    db.query<{ signal_id: number | string; duplicate: boolean }>(
      `SELECT * FROM aries.send_signal(p_execution_id => $1, p_name => $2, p_payload => $3::jsonb,
                                       p_idempotency_key => $4)`,
      [args.executionId, args.name, args.payloadJson, args.idempotencyKey],
    ),
  );
  return { signalId: String(row!.signal_id), duplicate: row!.duplicate };
}

/** Starts the execution if its idempotency key is new and delivers the signal, in one transaction. */
export async function signalWithStart(
  db: Queryable,
  args: {
    workflow: string;
    version: string | null;
    inputJson: string | null;
    idempotencyKey: string;
    timeoutMs: number | null;
    signal: { name: string; payloadJson: string | null; idempotencyKey: string | null };
  } & Omit<StartPlacement, 'debounce'>,
): Promise<{ executionId: string; created: boolean } & SentSignal> {
  const [row] = await translated(
    db.query<{ execution_id: string; created: boolean; signal_id: number | string; duplicate: boolean }>(
      `SELECT * FROM aries.signal_with_start(p_workflow => $1, p_version => $2, p_input => $3::jsonb,
                                             p_idempotency_key => $4, p_signal_name => $5, p_payload => $6::jsonb,
                                             p_signal_idempotency_key => $7, p_timeout_ms => $8, p_queue => $9,
                                             p_queue_key => $10, p_priority => $11, p_delay_ms => $12)`,
      [args.workflow, args.version, args.inputJson, args.idempotencyKey, args.signal.name, args.signal.payloadJson,
        args.signal.idempotencyKey, args.timeoutMs, args.queue ?? null, args.queueKey ?? null, args.priority ?? 0,
        args.delayMs ?? null],
    ),
  );
  return { executionId: row!.execution_id, created: row!.created, signalId: String(row!.signal_id), duplicate: row!.duplicate };
}

/**
 * In a transactional step's transaction: bounds its statements by the attempt's remaining time, and
 * returns the attempt's deadline on the database clock (checked again before the commit, refuseLateStep).
 */
export async function boundStepTransaction(tx: Queryable, timeoutMs: number): Promise<Date> {
  const [row] = await translated(
    tx.query<{ deadline: Date | string }>(
      `SELECT pg_catalog.set_config('statement_timeout', $1::text, true), pg_catalog.clock_timestamp() + $2 * interval '1 millisecond' AS deadline`,
      [String(Math.max(1, Math.ceil(timeoutMs))), timeoutMs],
    ),
  );
  return new Date(row!.deadline);
}

/** Refuses (AR012, StepTimeoutError) a transactional step's commit past its attempt's deadline. */
export async function refuseLateStep(tx: Queryable, lease: Lease, stepKey: string, deadline: Date): Promise<void> {
  await translated(
    tx.query('SELECT aries.refuse_late_step(p_execution_id => $1, p_step_key => $2, p_deadline => $3)', [lease.executionId, stepKey, deadline]),
  );
}

/** The parent's saga reached a child step: undo the child as a unit (see aries.compensate_child). */
export async function compensateChild(
  db: Queryable,
  lease: Lease,
  stepKey: string,
): Promise<{ outcome: 'done' | 'waiting' | 'failed'; childId: string | null; childStatus: string | null; childError: StoredError | null }> {
  const [row] = await translated(
    db.query<{ outcome: 'done' | 'waiting' | 'failed'; child_id: string | null; child_status: string | null; child_error: StoredError | null }>(
      'SELECT * FROM aries.compensate_child(p_execution_id => $1, p_token => $2, p_step_key => $3)',
      [lease.executionId, lease.token, stepKey],
    ),
  );
  return { outcome: row!.outcome, childId: row!.child_id, childStatus: row!.child_status, childError: row!.child_error };
}
