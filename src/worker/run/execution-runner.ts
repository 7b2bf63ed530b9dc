/**
 * Runs one claimed execution to its next resting point: analysis of its journal (bounded by its last
 * checkpoint), then the workflow function with replay of recorded steps (redo), then exactly one closing
 * transition, chosen here as a RunEnd and written by close-run.ts.
 *
 * A COMPENSATING execution (claimed to go on with its compensations) replays its workflow function only to
 * find its compensations, then runs those not yet completed.
 */
import type { Span } from '@opentelemetry/api';
import { encodeStored } from '../../core/json-value.js';
import { isTransientError } from '../../core/transient-errors.js';
import type { ClaimedExecution, Lease } from '../../db/leases.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import { RunState } from '../context/run-state.js';
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
  const lease: Lease = { executionId: claimed.executionId, token: claimed.token };
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
    const replay = firstRun ? emptyReplayLog() : await analyzeExecution(deps.db, claimed.executionId);
    deps.onAnalysis?.(replay);
    const run = new RunState({
      db: deps.db,
      lease: { executionId: claimed.executionId, token: claimed.token },
      workflow,
      replay,
      mode: claimed.compensating ? 'compensating' : 'forward',
      signal: deps.signal,
      shouldYield: deps.shouldYield,
      maxPayloadBytes: deps.maxPayloadBytes,
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

/** Runs the workflow function and decides how the run ends. */
async function runWorkflow(deps: RunDeps, run: RunState, claimed: ClaimedExecution, workflow: Workflow): Promise<RunEnd> {
  let result: { ok: true; output: unknown } | { ok: false; error: unknown };
  try {
    result = { ok: true, output: await workflow.fn(new WorkflowContextImpl(run), claimed.input) };
  } catch (error) {
    result = { ok: false, error };
  }
  await run.settle(deps.settleTimeoutMs);
  // The function returned having skipped recorded steps: it is not the code that wrote the journal.
  if (result.ok && run.interrupt === undefined && !claimed.compensating) {
    // A failed read is this run's interrupt already (storage): the execution is handed back.
    const unreached = await run.storage(() => run.journal.unreachedAtEnd()).catch(() => undefined);
    if (unreached) run.interrupted(unreached);
  }
  const interrupt = run.interrupt;
  if (interrupt !== undefined && !(interrupt instanceof CompensationUnwind)) {
    if (isLeaseLoss(interrupt, deps)) return { kind: 'leaseLost' };
    if (interrupt instanceof YieldSignal) return { kind: 'released' };
    if (isTransientError(interrupt)) return { kind: 'handedBack', fault: interrupt };
    if (interrupt instanceof RetrySignal) return { kind: 'retry', signal: interrupt };
    // A NondeterminismError or corrupt data, even if the workflow caught it.
    return { kind: 'failed', error: interrupt, compensating: claimed.compensating };
  }
  if (claimed.compensating) return { kind: 'undo' };
  if (!result.ok) return failOrCompensate(run, result.error);
  try {
    return { kind: 'completed', outputJson: encodeStored(result.output, `result of workflow "${workflow.name}"`, deps.maxPayloadBytes) };
  } catch (err) {
    return failOrCompensate(run, err); // completed compensable steps are undone
  }
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
