/**
 * ctx.transaction: the user's statements (on the application's tables, in the same database) and the
 * step's completion commit in one transaction, at the isolation level asked for, so the effect happens
 * exactly once. The intent is journaled first (it numbers the attempt and lets a failure be recorded);
 * the transaction is fenced by its first statement, so a worker whose lease was taken over never runs
 * the statements. A serialization failure or deadlock runs the whole step again (with backoff, under its
 * retry policy); a lost connection hands the execution back, whose resumption finds in the journal
 * whether the COMMIT happened. The worker's heartbeat leaves the execution's row alone from just before
 * the transaction to its end: a renewal committed between the transaction's snapshot and its fence would
 * fail the fence with a serialization failure at REPEATABLE READ and SERIALIZABLE.
 */
import { encodePayload } from '../../../core/payload-codec.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../../../core/durability.js';
import { hasAttemptsLeft, retryDelayMs } from '../../../core/retry-policy.js';
import { isNetworkError } from '../../../core/transient-errors.js';
import { lockOwnedExecution } from '../../../db/leases.js';
import { applyDurability, recordSteps, setTransactionIsolation, stepAttemptsUsed } from '../../../db/steps.js';
import { boundStepTransaction, refuseLateStep } from '../../../db/waits.js';
import { InvalidDefinitionError, LeaseLostError } from '../../../errors.js';
import type { TransactionContext, TransactionOptions } from '../../../sdk/types/workflow-context.js';
import { crashPoint } from '../../crash-points.js';
import { transactionStatements } from '../transaction-statements.js';
import { takesCheckpoint } from './step.js';
import type { Primitive } from './primitive.js';

type TransactionFn = (tx: TransactionContext) => Promise<unknown>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** 40001 (serialization failure) and 40P01 (deadlock): the transaction lost a race and may simply run again. */
function isSerializationFailure(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '40001' || code === '40P01';
}

export const transactionPrimitive: Primitive<TransactionFn, TransactionOptions<never>, unknown> = {
  kind: 'transaction',
  call: 'ctx.transaction',
  validate(key, options) {
    const isolation = options.isolation ?? 'read committed';
    if (!ISOLATION_LEVELS.includes(isolation)) {
      throw new InvalidDefinitionError(
        `ctx.transaction("${key}"): isolation ${JSON.stringify(isolation)} is invalid: use ${ISOLATION_LEVELS.join(', ')}`,
      );
    }
  },
  async run(a) {
    const { db, workflow, maxPayloadBytes, codec } = a.run.deps;
    // The token this attempt began under: a deadline moves the run's token on, and the attempt's late
    // writes must then be refused, not carried by the new one.
    const lease = { ...a.run.deps.lease };
    const isolation: IsolationLevel = a.options.isolation ?? 'read committed';
    const timeoutMs = a.options.timeoutMs;
    const release = await a.run.deps.holdRenewals?.();
    const output = await db.transaction(async (tx) => {
      const statements = transactionStatements(tx, `ctx.transaction("${a.key}")`);
      await setTransactionIsolation(tx, isolation);
      // The first statement, so the snapshot and the row lock are taken together.
      await lockOwnedExecution(tx, lease);
      await applyDurability(tx, workflow.durability);
      const deadline = timeoutMs === undefined ? undefined : await boundStepTransaction(tx, timeoutMs);
      let result: unknown;
      try {
        result = await a.fn({ ...a.stepContext, query: statements.query, client: statements.client, pglite: statements.pglite });
      } catch (err) {
        throw statements.refused ?? err;
      } finally {
        statements.close();
      }
      crashPoint('after-step-effect', a.key); // the statements ran; nothing is committed
      const outputJson = await encodePayload(result, `output of step "${a.key}"`, maxPayloadBytes, codec, { kind: 'stepOutput', executionId: lease.executionId });
      const checkpoint = takesCheckpoint(workflow.checkpoint, a.seq, a.options);
      if (deadline) await refuseLateStep(tx, lease, a.key, deadline);
      await recordSteps(tx, lease, [{ seq: a.seq, stepKey: a.key, attempt: a.attempt, outputJson, checkpoint }], undefined, 'transaction');
      return result;
    }).finally(() => release?.());
    if (workflow.durability !== 'off') await db.flushToDisk?.();
    return { output };
  },
  settle(a) {
    crashPoint('after-step-commit', a.key);
  },
  async judge(error, a) {
    // The connection failed: whether the COMMIT happened is unknown here. The journal knows: the
    // execution is handed back, and its resumption finds the step completed or runs it again.
    if (isNetworkError(error) || error instanceof LeaseLostError) return 'interrupt';
    if (!isSerializationFailure(error)) return 'fail';
    const { run } = a;
    const used = (await run.storage(() => stepAttemptsUsed(run.deps.db, run.executionId, a.key))).step;
    if (!hasAttemptsLeft(a.policy, used)) return 'fail';
    run.deps.metrics?.stepFailures.TRANSIENT.inc();
    await sleep(retryDelayMs(a.policy, used));
    return 'again';
  },
};
