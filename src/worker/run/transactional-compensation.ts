/**
 * A transactional step's compensateInTransaction: the user's statements and the record that the
 * compensation completed commit in one transaction, as a transactional step and its completion do. So a
 * compensation that committed is never run again, and one that failed (or whose worker died) left none of
 * its writes behind: its next attempt starts from the rows as they were. The transaction is fenced like a
 * transactional step's: its first statement locks the execution row under the lease's token, so a worker
 * whose lease was taken over never runs the statements.
 */
import { encodeStored } from '../../core/json-value.js';
import type { IsolationLevel } from '../../core/durability.js';
import type { Database } from '../../db/database.js';
import { recordCompensation } from '../../db/compensation.js';
import { lockOwnedExecution, type Lease } from '../../db/leases.js';
import { applyDurability, setTransactionIsolation } from '../../db/steps.js';
import type { StepContext, TransactionCompensation } from '../../sdk/types/workflow-context.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import { crashPoint } from '../crash-points.js';
import { transactionStatements } from '../context/transaction-statements.js';

export interface TransactionalCompensation {
  db: Database;
  lease: Lease;
  workflow: Workflow;
  maxPayloadBytes: number;
  stepKey: string;
  output: unknown;
  fn: TransactionCompensation<unknown>;
  isolation: IsolationLevel;
  /** The compensation's context: its idempotency key, attempt (as journaled when it started), signal. */
  context: StepContext;
}

/** Runs the compensation and records it completed, in one transaction; throws (rolled back) if either fails. */
export async function compensateInTransaction(c: TransactionalCompensation): Promise<void> {
  const label = `the compensation of step "${c.stepKey}"`;
  await c.db.transaction(async (tx) => {
    await setTransactionIsolation(tx, c.isolation);
    await lockOwnedExecution(tx, c.lease); // first, so the snapshot and the row lock are taken together
    await applyDurability(tx, c.workflow.durability);
    const statements = transactionStatements(tx, label);
    let result: unknown;
    try {
      result = await c.fn(c.output, { ...c.context, query: statements.query, client: statements.client, pglite: statements.pglite });
    } catch (err) {
      throw statements.refused ?? err;
    } finally {
      statements.close();
    }
    crashPoint('after-compensation-effect', c.stepKey); // the statements ran; nothing is committed
    const payloadJson = encodeStored(result ?? null, `result of ${label}`, c.maxPayloadBytes);
    await recordCompensation(tx, c.lease, { stepKey: c.stepKey, event: 'completed', attempt: c.context.attempt, payloadJson });
  });
  if (c.workflow.durability !== 'off') await c.db.flushToDisk?.();
}
