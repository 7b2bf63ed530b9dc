/**
 * Runs one claimed execution to its next resting point: analysis of its journal (bounded by its last
 * checkpoint), then the workflow function with replay of recorded steps (redo), then exactly one closing
 * transition, chosen here as a RunEnd and written by close-run.ts.
 *
 * A COMPENSATING execution (claimed to go on with its compensations) replays its workflow function only to
 * find its compensations, then runs those not yet completed.
 */
import type { Span } from '@opentelemetry/api';
import { decodePayload, encodePayload } from '../../core/payload-codec.js';
import { isTransientError } from '../../core/transient-errors.js';
import type { ClaimedExecution, Lease } from '../../db/leases.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import { cancelChildren, abandonWaits } from '../../db/waits.js';
import { ExecutionTimeoutError } from '../../errors.js';
import { RunState } from '../context/run-state.js';
import type { WaitHalt } from '../context/wait-coordinator.js';
import { WorkflowContextImpl } from '../context/workflow-context.js';
import { CompensationUnwind, RetrySignal, YieldSignal } from '../engine-signals.js';
import { endExecutionSpan, startExecutionSpan } from '../tracing.js';
import { closeRun, isLeaseLoss, stepFailureOf, type RunEnd, type RunOutcome } from './close-run.js';
import { analyzeExecution, emptyReplayLog } from './replay-log.js';
import type { RunDeps } from './run-deps.js';

export type { RunOutcome } from './close-run.js';

export type { RunDeps } from './run-deps.js';

export async function runExecution(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow): Promise<RunOutcome> {
  const span = startExecutionSpan({
    workflow: workflow.name,
    version: workflow.version,
    executionId: claimed.executionId,
    claimCount: claimed.claimCount,
  });
  // One lease object for the whole run (and the worker's renewals): a step's deadline moves its token on.
  const lease: Lease = claimed;
  let run: RunState | undefined;
  let outcome = 'error'; // a write failed unexpectedly: the lease will expire and another run resumes it
  try {
    const started = await start(deps, claimed, workflow, span);
    if ('end' in started) {
      outcome = await closeRun(deps, lease, undefined, started.end);
    } else {
      run = started.run;
      const end = await runWorkflow(deps, run, claimed, workflow);
      outcome = await closeRun(deps, lease, run, end);
    }
    return outcome as RunOutcome;
  } finally {
    if (run) deps.onStepsRun?.(run.stepsRun, run.stepsReplayed);
    endExecutionSpan(span, outcome, run?.stepsReplayed ?? 0, run?.stepsRun ?? 0);
  }
}

/** Analysis, and the run's state; a failure to read the journal ends the run at once. */
async function start(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow, span: Span): Promise<{ run: RunState } | { end: RunEnd }> {
  try {
    // On an execution's first claim its journal holds only execution_started: nothing to replay, and the
    // round trips saved. Any later claim (a resumption, a retry, a hand-back) runs the analysis.
    const firstRun = claimed.claimCount === 1 && !claimed.resumed && !claimed.compensating;
    const replay = firstRun ? emptyReplayLog() : await analyzeExecution(deps.db, claimed.executionId, deps.codec);
    deps.onAnalysis?.(replay);
    const run = new RunState({
      db: deps.db,
      lease: claimed,
      workflow,
      replay,
      mode: claimed.compensating ? 'compensating' : 'forward',
      signal: deps.signal,
      confirmLease: deps.confirmLease,
      holdRenewals: deps.holdRenewals,
      shouldYield: deps.shouldYield,
      maxPayloadBytes: deps.maxPayloadBytes,
      storedErrors: deps.storedErrors,
      codec: deps.codec,
      writer: deps.writer,
      flushDelayMs: deps.flushDelayMs,
      span,
      metrics: deps.metrics,
    });
    return { run };
  } catch (err) {
    if (isTransientError(err)) return { end: { kind: 'handedBack', fault: err } };
    return { end: { kind: 'failed', error: err, compensating: claimed.compensating } };
  }
}

type FunctionResult = { ok: true; output: unknown } | { ok: false; error: unknown };

/**
 * Runs the workflow function until it returns or throws, or its run stops while it is blocked on waits
 * (suspended in the database, or interrupted). The execution's deadline, if it has one, is watched.
 */
async function runFunction(deps: RunDeps, run: RunState, claimed: ClaimedExecution, workflow: Workflow): Promise<FunctionResult | WaitHalt> {
  let deadline: NodeJS.Timeout | undefined;
  const timeout = () =>
    new ExecutionTimeoutError(`execution ${claimed.executionId} of workflow "${workflow.name}" ran past its deadline (timeoutMs)`, {
      executionId: claimed.executionId,
    });
  if (claimed.deadlineInMs !== undefined && !claimed.compensating) {
    if (claimed.deadlineInMs <= 0) run.expire(timeout(), false);
    else deadline = setTimeout(() => run.expire(timeout(), true), Math.min(claimed.deadlineInMs, 2 ** 31 - 1));
  }
  try {
    const finished = (async (): Promise<FunctionResult> => {
      try {
        // an encoded input this worker cannot decode fails the run with the reason (CodecRequiredError)
        const input = await decodePayload(claimed.input, `input of execution ${claimed.executionId}`, deps.codec, {
          kind: 'input',
          executionId: claimed.executionId,
        });
        return { ok: true, output: await workflow.fn(new WorkflowContextImpl(run), input) };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    // Stopped (the deadline passed, the lease was lost): the run ends without waiting for the function,
    // which may be blocked on a wait or a long step; the steps still running are given settleTimeoutMs.
    let onStop: (() => void) | undefined;
    const stopped = new Promise<WaitHalt>((resolve) => {
      onStop = () => {
        run.interrupted(run.signal.reason);
        resolve({ kind: 'interrupted' });
      };
      if (run.signal.aborted) onStop();
      else run.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([finished, run.waits.halted, stopped]);
    } finally {
      run.signal.removeEventListener('abort', onStop!);
    }
  } finally {
    clearTimeout(deadline);
    run.waits.close();
  }
}

/** Runs the workflow function and decides how the run ends. */
async function runWorkflow(deps: RunDeps, run: RunState, claimed: ClaimedExecution, workflow: Workflow): Promise<RunEnd> {
  const returned = await runFunction(deps, run, claimed, workflow);
  if ('kind' in returned && returned.kind === 'suspended') return { kind: 'suspended', status: returned.status, dueInMs: returned.dueInMs };
  // Stopped because the lease is gone (taken over, or the worker gave up on the run at shutdown): nothing
  // more is written, whatever the run met before, and the execution stays under its lease until it expires.
  if ('kind' in returned && deps.signal.aborted) {
    await run.settle(deps.settleTimeoutMs);
    return { kind: 'leaseLost' };
  }
  const result: FunctionResult = 'kind' in returned ? { ok: false, error: run.interrupt } : returned;
  await run.settle(deps.settleTimeoutMs);
  // Waits the workflow began and no longer awaits are cancelled, so that a signal one of them would have
  // taken stays in the mailbox and a child it started is undone: the losers of races, and, when it
  // returned, every wait still open (a failed execution keeps its open waits: a recovery awaits them again).
  if (run.interrupt === undefined && !claimed.compensating) {
    const unsettled = result.ok ? run.waits.unsettled() : run.waits.lostWaits();
    if (unsettled.length > 0) {
      await run
        .storage(() => abandonWaits(deps.db, claimed, unsettled, 'the workflow function returned without it'))
        .then(() => run.waits.trace([], 'cancelled', undefined, unsettled))
        .catch(() => undefined); // the failure is this run's interrupt: the execution is handed back
    }
  }
  // The function returned having skipped recorded steps: it is not the code that wrote the journal.
  if (result.ok && run.interrupt === undefined && !claimed.compensating) {
    // A failed read is this run's interrupt already (storage): the execution is handed back.
    const unreached = await run.storage(() => run.journal.unreachedAtEnd()).catch(() => undefined);
    if (unreached) run.interrupted(unreached);
  }
  const interrupt = run.interrupt;
  if (interrupt !== undefined && !(interrupt instanceof CompensationUnwind)) {
    if (isLeaseLoss(interrupt, deps)) return { kind: 'leaseLost' };
    if (run.expired && interrupt === run.expired) return timedOut(deps, run, run.expired);
    if (interrupt instanceof YieldSignal) return { kind: 'released' };
    if (isTransientError(interrupt)) return { kind: 'handedBack', fault: interrupt };
    if (interrupt instanceof RetrySignal) return { kind: 'retry', signal: interrupt };
    // A NondeterminismError or corrupt data, even if the workflow caught it.
    return { kind: 'failed', error: interrupt, compensating: claimed.compensating };
  }
  if (claimed.compensating) return { kind: 'undo' };
  if (!result.ok) return failOrCompensate(run, result.error);
  try {
    const what = `result of workflow "${workflow.name}"`;
    return { kind: 'completed', outputJson: await encodePayload(result.output, what, deps.maxPayloadBytes, deps.codec, { kind: 'output', executionId: claimed.executionId }) };
  } catch (err) {
    return failOrCompensate(run, err); // completed compensable steps are undone
  }
}

/**
 * The execution ran past its deadline: its unfinished children are cancelled, then it fails PERMANENTLY
 * with the timeout (its compensations run first if compensable steps completed).
 */
async function timedOut(deps: RunDeps, run: RunState, error: Error): Promise<RunEnd> {
  deps.metrics?.timeouts.execution.inc();
  try {
    await run.storage(() => cancelChildren(deps.db, run.executionId, error.message));
  } catch (err) {
    if (isTransientError(err)) return { kind: 'handedBack', fault: err };
    throw err;
  }
  return failOrCompensate(run, error);
}

/**
 * The workflow ended with an error. PARTIAL (a classifier said so, or steps with compensations completed
 * before it): compensate. Otherwise PERMANENT: roll back to the last valid checkpoint and fail.
 */
function failOrCompensate(run: RunState, error: unknown): RunEnd {
  const f = stepFailureOf(run, error);
  if (f?.type !== 'PARTIAL' && !run.hasUncompensated()) return { kind: 'failed', error, compensating: false };
  return { kind: 'compensate', error };
}
