/**
 * How a run ends, as one tagged value, and the one place each end becomes its closing transition:
 *
 *   completed    the workflow returned: its last completions and its output, one transaction (complete_execution)
 *   failed       a PERMANENT failure, corrupt data or changed code with nothing to compensate: rolled back to the
 *                last valid checkpoint and FAILED, resumable by recover (fail_execution); a compensating
 *                execution fails PARTIAL
 *   compensate   a PERMANENT failure after steps with compensations completed (PARTIAL): begin_compensation,
 *                then the compensations in reverse order (compensation-runner.ts)
 *   undo         a COMPENSATING execution goes on with the compensations not yet completed
 *   retry        a step failed TRANSIENTLY with attempts left: the execution waits for a durable timer (retry_step)
 *   released     the worker is stopping: the execution is handed back between steps (release_execution)
 *   handedBack   a transient storage error: handed back to be resumed from its journal (release_execution)
 *   leaseLost    another worker took the execution over: nothing more is written (the token forbids it)
 *   suspended    the workflow is blocked on waits and none has come: aries.await_waits already made it
 *                SLEEPING or WAITING without a lease (wait-coordinator.ts); nothing more is written
 *
 * Each returns the RunOutcome the worker counts. Before any closing transition, completions not yet
 * written are written: re-sending one is harmless (a repeat of the same attempt is skipped), losing one
 * would run a completed step again.
 */
import type { FailureType, FaultSource } from '../../core/failure-classification.js';
import { isTransientError } from '../../core/transient-errors.js';
import { beginCompensation } from '../../db/compensation.js';
import { readLeaseState } from '../../db/leases.js';
import { retryStep } from '../../db/steps.js';
import { failExecution } from '../../db/executions.js';
import { releaseExecution, type Lease } from '../../db/leases.js';
import { JournalCorruptError, LeaseLostError } from '../../errors.js';
import type { RunState, StepFailure } from '../context/run-state.js';
import { storedFailureJson } from '../context/step-failure.js';
import { crashPoint } from '../crash-points.js';
import type { RetrySignal } from '../engine-signals.js';
import { withRetries } from '../write-retries.js';
import { runCompensations } from './compensation-runner.js';
import type { RunDeps } from './run-deps.js';

export type RunEnd =
  | { kind: 'completed'; outputJson: string | null }
  | { kind: 'failed'; error: unknown; compensating: boolean }
  | { kind: 'compensate'; error: unknown }
  | { kind: 'undo' }
  | { kind: 'retry'; signal: RetrySignal }
  | { kind: 'released' }
  | { kind: 'handedBack'; fault: unknown }
  | { kind: 'leaseLost' }
  | { kind: 'suspended'; status: 'SLEEPING' | 'WAITING'; dueInMs: number | null };

export const RUN_OUTCOMES = [
  'completed',
  'failed',
  'compensated',
  'retryScheduled',
  'released',
  'handedBack',
  'leaseLost',
  'suspended',
] as const;
/** What a run came to, as the worker counts it. */
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export function isLeaseLoss(err: unknown, deps: RunDeps): boolean {
  return err instanceof LeaseLostError || (deps.signal.aborted && err === deps.signal.reason);
}

/** Writes the transition `end` names; `run` is undefined when the run failed before its state existed. */
export async function closeRun(deps: RunDeps, lease: Lease, run: RunState | undefined, end: RunEnd): Promise<RunOutcome> {
  try {
    switch (end.kind) {
      case 'completed':
        return await complete(deps, lease, run!, end.outputJson);
      case 'failed':
        return await fail(deps, lease, run, end.error, end.compensating);
      case 'compensate':
        return await compensate(deps, lease, run!, end.error);
      case 'undo':
        return await undo(deps, lease, run!);
      case 'retry':
        return await scheduleRetry(deps, lease, run!, end.signal);
      case 'released':
        return await handBack(deps, lease, run, undefined);
      case 'handedBack':
        return await handBack(deps, lease, run, end.fault);
      case 'leaseLost':
        run?.journal.abandon();
        return 'leaseLost';
      case 'suspended':
        deps.onSuspended?.(end.dueInMs);
        return 'suspended';
    }
  } catch (err) {
    if (isLeaseLoss(err, deps)) {
      run?.journal.abandon();
      return 'leaseLost';
    }
    if (isTransientError(err)) return handBack(deps, lease, run, err);
    throw err;
  }
}

async function complete(deps: RunDeps, lease: Lease, run: RunState, outputJson: string | null): Promise<RunOutcome> {
  try {
    await run.storage(() => run.journal.finish(outputJson));
  } catch (err) {
    if (isTransientError(err) && (await committedAnyway(deps, lease, 'COMPLETED'))) return 'completed';
    throw err;
  }
  return 'completed';
}

/**
 * The connection failed during a closing transition's COMMIT: the client cannot tell whether it happened.
 * The journal can: the execution is in `status` under this lease's token only if the commit went through.
 * Reads again a few times while the database is unreachable; false when it did not happen (or cannot be
 * told, in which case the lease expires and a worker resumes from the journal, which is as safe).
 */
async function committedAnyway(deps: RunDeps, lease: Lease, status: string): Promise<boolean> {
  const now = await withRetries(() => readLeaseState(deps.db, lease.executionId)).catch(() => undefined);
  return now !== undefined && now.status === status && now.token === lease.token;
}

/** Writes what is pending, retrying a transient failure a few times; false (pending dropped) if it cannot. */
async function flushed(run: RunState): Promise<boolean> {
  const ok = await withRetries(() => run.journal.flush()).then(
    () => true,
    () => false,
  );
  if (!ok) run.journal.abandon();
  return ok;
}

/**
 * Hands the execution back to the queue: on shutdown (fault undefined) or after a transient storage
 * error. Completions are written first; if the database stays unreachable, the lease simply expires and
 * a worker resumes the execution from what the journal holds.
 */
async function handBack(deps: RunDeps, lease: Lease, run: RunState | undefined, fault: unknown): Promise<RunOutcome> {
  if (fault !== undefined) deps.onStorageFault?.(fault);
  if (run && !(await flushed(run))) return 'handedBack';
  try {
    await releaseExecution(deps.db, lease);
  } catch (err) {
    if (isLeaseLoss(err, deps)) return 'leaseLost';
    return 'handedBack';
  }
  return fault === undefined ? 'released' : 'handedBack';
}

/** A step failed TRANSIENTLY with attempts left: completions first, then the durable retry timer. */
async function scheduleRetry(deps: RunDeps, lease: Lease, run: RunState, signal: RetrySignal): Promise<RunOutcome> {
  if (!(await flushed(run))) return 'handedBack';
  const { seq, stepKey, attempt, error, delayMs, source } = signal.retry;
  const errorJson = await storedFailureJson(error, 'TRANSIENT', source, false, deps, lease.executionId);
  // Retried in place (retry_step is idempotent under the token): handing the execution back instead would
  // make it due at once, skipping the backoff and the failure's record.
  await withRetries(() => retryStep(deps.db, lease, { seq, stepKey, attempt, errorJson, delayMs, source }));
  crashPoint('during-retry-wait', stepKey);
  return 'retryScheduled';
}

/** The step failure the workflow let escape, if `error` is one. */
export function stepFailureOf(run: RunState | undefined, error: unknown): StepFailure | undefined {
  const f = run?.lastStepFailure;
  return f !== undefined && f.error === error ? f : undefined;
}

/** PARTIAL: the failure is recorded as such, then the compensations run. */
async function compensate(deps: RunDeps, lease: Lease, run: RunState, error: unknown): Promise<RunOutcome> {
  if (!(await flushed(run))) return 'handedBack';
  const f = stepFailureOf(run, error);
  const source: FaultSource = f?.source ?? 'step';
  await beginCompensation(deps.db, lease, {
    errorJson: await storedFailureJson(error, 'PARTIAL', source, f?.retriesExhausted ?? false, deps, lease.executionId),
    source,
    stepKey: f?.stepKey,
    attempt: f?.attempt,
    retriesExhausted: f?.retriesExhausted ?? false,
  });
  return undo(deps, lease, run);
}

async function undo(deps: RunDeps, lease: Lease, run: RunState): Promise<RunOutcome> {
  const outcome = await runCompensations(
    { db: deps.db, lease, workflow: run.deps.workflow, signal: deps.signal, confirmLease: deps.confirmLease, shouldYield: deps.shouldYield, maxPayloadBytes: deps.maxPayloadBytes, storedErrors: deps.storedErrors, codec: deps.codec },
    run.compensations(),
  );
  if (outcome === 'yield') return handBack(deps, lease, undefined, undefined);
  if (outcome === 'suspended') {
    deps.onSuspended?.(null); // a child's end wakes it
    return 'suspended';
  }
  return outcome;
}

/**
 * Records the failure, after the completions of the steps that did complete. A running execution is
 * rolled back to its last valid checkpoint (before a corrupt record, for a data fault); a compensating one
 * fails PARTIAL, as its compensations left it.
 */
async function fail(deps: RunDeps, lease: Lease, run: RunState | undefined, err: unknown, compensating: boolean): Promise<RunOutcome> {
  if (run && !(await flushed(run))) return 'handedBack';
  const failed = stepFailureOf(run, err);
  const corrupt = err instanceof JournalCorruptError;
  const source: FaultSource = corrupt ? 'data' : (failed?.source ?? 'step');
  const type: FailureType = compensating ? 'PARTIAL' : 'PERMANENT';
  const lsn = corrupt ? (err.details?.lsn as number | undefined) : undefined;
  try {
    await failExecution(deps.db, lease, {
      errorJson: await storedFailureJson(err, type, source, failed?.retriesExhausted ?? false, deps, lease.executionId),
      failureType: type,
      source,
      stepKey: failed?.stepKey,
      attempt: failed?.attempt,
      retriesExhausted: failed?.retriesExhausted ?? false,
      rollbackBeforeLsn: lsn,
    });
  } catch (writeErr) {
    if (isLeaseLoss(writeErr, deps)) return 'leaseLost';
    if (isTransientError(writeErr)) return handBack(deps, lease, undefined, writeErr);
    throw writeErr;
  }
  return 'failed';
}
