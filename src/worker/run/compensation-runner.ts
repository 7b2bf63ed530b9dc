/**
 * ARIES undo for an execution that failed partially applied: the compensations of its completed steps run
 * in reverse completion order. Each is journaled as started before it runs and as completed after, so
 * one that completed is never run again (a crash between the two runs it again, with the same idempotency
 * key and a higher attempt: compensations, like steps, must be idempotent). A TRANSIENT error is retried
 * under the step's retry policy with a durable timer; a PERMANENT one (or retries running out) ends the
 * execution FAILED with an unrecovered PARTIAL failure: an operator must look, then `aries recover` it.
 * A transactional step's compensateInTransaction is recorded completed in its own transaction instead
 * (transactional-compensation.ts): a crash leaves it committed and recorded, or none of its writes.
 */
import { classifyError } from '../../core/failure-classification.js';
import { encodePayload } from '../../core/payload-codec.js';
import { hasAttemptsLeft, retryDelayMs } from '../../core/retry-policy.js';
import { isNetworkError } from '../../core/transient-errors.js';
import type { Database } from '../../db/database.js';
import { finishCompensation, recordCompensation, retryCompensation } from '../../db/compensation.js';
import { stepAttemptsUsed } from '../../db/steps.js';
import { compensateChild } from '../../db/waits.js';
import { ChildWorkflowFailedError, LeaseLostError } from '../../errors.js';
import { failExecution } from '../../db/executions.js';
import type { Lease } from '../../db/leases.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import { crashPoint } from '../crash-points.js';
import type { ConfirmLease } from '../lease-confirmation.js';
import { withRetries } from '../write-retries.js';
import type { CompensableStep } from '../context/run-state.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import type { StoredErrorPolicy } from '../../core/stored-error.js';
import { storedFailureJson } from '../context/step-failure.js';
import { compensateInTransaction } from './transactional-compensation.js';

export type UndoOutcome = 'compensated' | 'failed' | 'retryScheduled' | 'yield' | 'leaseLost' | 'suspended';

export interface UndoDeps {
  db: Database;
  lease: Lease;
  workflow: Workflow;
  signal: AbortSignal;
  /** Asked before each compensation starts (lease-confirmation.ts). */
  confirmLease?: ConfirmLease | undefined;
  shouldYield: () => boolean;
  maxPayloadBytes: number;
  storedErrors?: StoredErrorPolicy | undefined;
  codec?: PayloadCodec | undefined;
}

export async function runCompensations(deps: UndoDeps, steps: readonly CompensableStep[]): Promise<UndoOutcome> {
  const { db, lease } = deps;
  for (const step of [...steps].reverse()) {
    if (step.status === 'COMPLETED') continue;
    if (deps.signal.aborted) return 'leaseLost';
    if (deps.shouldYield()) return 'yield';
    if (step.child) {
      const undone = await undoChild(deps, step);
      if (undone === 'done') continue;
      return undone;
    }
    const attempt = await recordCompensation(db, lease, { stepKey: step.stepKey, event: 'started' });
    crashPoint('during-compensation', step.stepKey);
    // A worker resumed after a stall does not start a compensation it may no longer own.
    const confirming = deps.confirmLease?.();
    if (confirming) {
      try {
        await confirming;
      } catch {
        return 'leaseLost';
      }
    }
    const context = {
      idempotencyKey: `${lease.executionId}:${step.stepKey}:compensation`,
      attempt,
      executionId: lease.executionId,
      stepKey: step.stepKey,
      signal: deps.signal,
    };
    if (step.inTransaction) {
      try {
        const { fn, isolation } = step.inTransaction;
        await compensateInTransaction({ ...deps, stepKey: step.stepKey, output: step.output, fn, isolation, context });
      } catch (error) {
        if (deps.signal.aborted) return 'leaseLost';
        // Whether the COMMIT happened is unknown, or the lease is gone: the run ends here, and whoever
        // resumes it finds the compensation recorded completed or runs it again.
        if (error instanceof LeaseLostError || isNetworkError(error)) throw error;
        return compensationFailed(deps, step, attempt, error);
      }
      step.status = 'COMPLETED';
      continue;
    }
    let resultJson: string | null;
    try {
      const result = await step.compensate(step.output, context);
      resultJson = await encodePayload(result ?? null, `result of the compensation of step "${step.stepKey}"`, deps.maxPayloadBytes, deps.codec, {
        kind: 'stepOutput',
        executionId: lease.executionId,
      });
    } catch (error) {
      if (deps.signal.aborted) return 'leaseLost';
      return compensationFailed(deps, step, attempt, error);
    }
    crashPoint('after-compensation-effect', step.stepKey);
    await recordCompensation(db, lease, { stepKey: step.stepKey, event: 'completed', attempt, payloadJson: resultJson });
    step.status = 'COMPLETED';
  }
  await finishCompensation(db, lease);
  return 'compensated';
}

/**
 * A child in the saga: its own compensations undo it, as a unit, before the steps that came before it.
 * Until they have, the execution waits for it (suspended, holding nothing); a child whose compensation
 * failed fails this one's compensation too.
 */
async function undoChild(deps: UndoDeps, step: CompensableStep): Promise<'done' | 'suspended' | 'failed'> {
  const r = await compensateChild(deps.db, deps.lease, step.stepKey);
  if (r.outcome === 'done') {
    step.status = 'COMPLETED';
    return 'done';
  }
  if (r.outcome === 'waiting') {
    crashPoint('during-compensation', step.stepKey); // journaled as started; the child's own saga has not run
    return 'suspended';
  }
  const error = new ChildWorkflowFailedError(
    `child execution ${r.childId} of step "${step.stepKey}" could not be compensated: it is ${r.childStatus}` +
      (r.childError?.message ? ` (${r.childError.message})` : ''),
    r.childId ?? '',
    r.childStatus ?? 'FAILED',
    'PARTIAL',
    r.childError,
  );
  const errorJson = await storedFailureJson(error, 'PARTIAL', 'step', false, deps, deps.lease.executionId);
  await withRetries(() => recordCompensation(deps.db, deps.lease, { stepKey: step.stepKey, event: 'failed', attempt: 1, payloadJson: errorJson }));
  await withRetries(() =>
    failExecution(deps.db, deps.lease, { errorJson, failureType: 'PARTIAL', source: 'step', stepKey: step.stepKey, attempt: 1, retriesExhausted: false }),
  );
  return 'failed';
}

async function compensationFailed(deps: UndoDeps, step: CompensableStep, attempt: number, error: unknown): Promise<UndoOutcome> {
  const { type, source } = classifyError(error, [step.classify, deps.workflow.classify], step.policy.nonRetryable);
  let exhausted = false;
  if (type === 'TRANSIENT') {
    const used = (await stepAttemptsUsed(deps.db, deps.lease.executionId, step.stepKey)).compensation;
    if (hasAttemptsLeft(step.policy, used)) {
      const errorJson = await storedFailureJson(error, 'TRANSIENT', source, false, deps, deps.lease.executionId);
      const delayMs = retryDelayMs(step.policy, used);
      await withRetries(() => retryCompensation(deps.db, deps.lease, { stepKey: step.stepKey, attempt, errorJson, delayMs, source }));
      crashPoint('during-retry-wait', step.stepKey);
      return 'retryScheduled';
    }
    exhausted = true;
  }
  const errorJson = await storedFailureJson(error, 'PARTIAL', source, exhausted, deps, deps.lease.executionId);
  // Two idempotent writes, each retried in place: were the execution handed back between them, the
  // compensation that failed for good would run again.
  await withRetries(() => recordCompensation(deps.db, deps.lease, { stepKey: step.stepKey, event: 'failed', attempt, payloadJson: errorJson }));
  await withRetries(() =>
    failExecution(deps.db, deps.lease, { errorJson, failureType: 'PARTIAL', source, stepKey: step.stepKey, attempt, retriesExhausted: exhausted }),
  );
  return 'failed';
}
