/**
 * Runs one claimed execution to its next resting point: analysis of its journal (bounded by its last
 * checkpoint), then the workflow function with replay of recorded steps (redo), then exactly one closing
 * transition:
 *
 *   completed        the workflow returned: its last completions and its output, in one transaction
 *   retry-scheduled  a step failed TRANSIENTLY with attempts left: the execution waits for a durable timer
 *   failed           a PERMANENT failure with nothing to compensate: rolled back to the last valid
 *                    checkpoint and FAILED (resumable by recover); or a compensation failed PERMANENTLY
 *   compensated      a PERMANENT failure after steps with compensations completed (PARTIAL): the
 *                    compensations ran in reverse order (undo, compensation-runner.ts)
 *   released         the worker is stopping: the execution is handed back between steps
 *   retry            a transient storage error: the execution is handed back to be resumed from its journal
 *   lease-lost       another worker took the execution over: nothing more is written (the token forbids it)
 *
 * A COMPENSATING execution (claimed to go on with its compensations) replays its workflow function only to
 * find its compensations, then runs those not yet completed.
 *
 * Before any closing transition, steps still running (parallel steps) are waited for, and completions not
 * yet written are written: re-sending one is harmless (a repeat of the same attempt is skipped), losing one
 * would run a completed step again.
 */
import type { Span } from '@opentelemetry/api';
import type { WorkflowSeries } from '../core/aries-metrics.js';
import type { FailureType, FaultSource } from '../core/failure-classification.js';
import { encodeStored } from '../core/json-value.js';
import { isTransientError } from '../core/transient-errors.js';
import type { Database } from '../db/database.js';
import { beginCompensation, readLeaseState, retryStep } from '../db/recovery-functions.js';
import { failExecution, releaseExecution, type ClaimedExecution, type Lease } from '../db/sql-functions.js';
import { JournalCorruptError, LeaseLostError } from '../errors.js';
import type { Workflow } from '../sdk/types/workflow.js';
import { runCompensations } from './compensation-runner.js';
import { crashPoint } from './crash-points.js';
import { endExecutionSpan, startExecutionSpan } from './tracing.js';
import { withRetries } from './write-retries.js';
import { CompensationUnwind, RetrySignal, YieldSignal } from './engine-signals.js';
import { analyzeExecution, emptyReplayLog, type ReplayLog } from './replay-log.js';
import type { StepWriter } from './step-write-batcher.js';
import { storedFailure, WorkflowContextImpl, type StepFailure } from './workflow-context.js';

export type RunOutcome = 'completed' | 'failed' | 'compensated' | 'retry-scheduled' | 'released' | 'retry' | 'lease-lost';

export interface RunDeps {
  db: Database;
  writer: StepWriter;
  maxPayloadBytes: number;
  shouldYield: () => boolean;
  signal: AbortSignal;
  /** How long the end of a run waits for parallel steps still running. */
  settleTimeoutMs: number;
  onStepsRun?: (run: number, replayed: number) => void;
  onStorageFault?: (err: unknown) => void;
  onAnalysis?: (replay: ReplayLog) => void;
  /** The workflow's metric series: step attempts, failures and durations are counted there. */
  metrics?: WorkflowSeries;
}


function isLeaseLoss(err: unknown, deps: RunDeps): boolean {
  return err instanceof LeaseLostError || (deps.signal.aborted && err === deps.signal.reason);
}

export async function runExecution(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow): Promise<RunOutcome> {
  const span = startExecutionSpan({
    workflow: workflow.name,
    version: workflow.version,
    executionId: claimed.executionId,
    claimCount: claimed.claimCount,
  });
  let ran = { run: 0, replayed: 0 };
  let outcome = 'error'; // a write failed unexpectedly: the lease will expire and another run resumes it
  try {
    outcome = await run(
      { ...deps, onStepsRun: (r, p) => ((ran = { run: r, replayed: p }), deps.onStepsRun?.(r, p)) },
      claimed,
      workflow,
      span,
    );
    return outcome as RunOutcome;
  } finally {
    endExecutionSpan(span, outcome, ran.replayed, ran.run);
  }
}

async function run(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow, span: Span): Promise<RunOutcome> {
  const lease: Lease = { executionId: claimed.executionId, token: claimed.token };
  let ctx: WorkflowContextImpl;
  try {
    // On an execution's first claim its journal holds only execution_started: nothing to replay, and two
    // round trips saved. Any later claim (a resumption, a retry, a hand-back) runs the analysis.
    const firstRun = claimed.claimCount === 1 && !claimed.resumed && !claimed.compensating;
    const replay = firstRun ? emptyReplayLog() : await analyzeExecution(deps.db, claimed.executionId);
    deps.onAnalysis?.(replay);
    ctx = new WorkflowContextImpl({
      db: deps.db,
      lease,
      workflow,
      replay,
      mode: claimed.compensating ? 'compensating' : 'forward',
      signal: deps.signal,
      shouldYield: deps.shouldYield,
      maxPayloadBytes: deps.maxPayloadBytes,
      writer: deps.writer,
      span,
      metrics: deps.metrics,
    });
  } catch (err) {
    if (isTransientError(err)) return handBack(deps, lease, undefined, err);
    return fail(deps, lease, undefined, err, claimed.compensating);
  }

  let outcome: { ok: true; output: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, output: await workflow.fn(ctx, claimed.input) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  try {
    await ctx.settle(deps.settleTimeoutMs);
    const interrupt = ctx.interrupt;
    if (interrupt !== undefined && !(interrupt instanceof CompensationUnwind)) {
      if (isLeaseLoss(interrupt, deps)) return lost(ctx);
      if (interrupt instanceof YieldSignal) return await handBack(deps, lease, ctx, undefined);
      if (isTransientError(interrupt)) return await handBack(deps, lease, ctx, interrupt);
      if (interrupt instanceof RetrySignal) return await scheduleRetry(deps, lease, ctx, interrupt);
      // A NondeterminismError or corrupt data, even if the workflow caught it.
      return await fail(deps, lease, ctx, interrupt, claimed.compensating);
    }
    if (claimed.compensating) return await undo(deps, lease, ctx, workflow);
    if (!outcome.ok) return await failOrCompensate(deps, lease, ctx, workflow, outcome.error);
    let outputJson: string | null;
    try {
      outputJson = encodeStored(outcome.output, `result of workflow "${workflow.name}"`, deps.maxPayloadBytes);
    } catch (err) {
      return await failOrCompensate(deps, lease, ctx, workflow, err); // completed compensable steps are undone
    }
    try {
      await ctx.finish(outputJson);
    } catch (err) {
      if (isTransientError(err) && (await committedAnyway(deps, lease, 'COMPLETED'))) return 'completed';
      throw err;
    }
    return 'completed';
  } catch (err) {
    if (isLeaseLoss(err, deps)) return lost(ctx);
    if (isTransientError(err)) return handBack(deps, lease, ctx, err);
    throw err;
  } finally {
    deps.onStepsRun?.(ctx.stepsRun, ctx.stepsReplayed);
  }
}

function lost(ctx: WorkflowContextImpl): RunOutcome {
  ctx.abandon();
  return 'lease-lost';
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

/** Writes what is pending, retrying a transient failure a few times; true once nothing is pending. */
async function flushWithRetries(ctx: WorkflowContextImpl): Promise<boolean> {
  return withRetries(() => ctx.flush()).then(
    () => true,
    () => false,
  );
}

/**
 * Hands the execution back to the queue: on shutdown (fault undefined) or after a transient storage
 * error. Completions are written first; if the database stays unreachable, the lease simply expires and
 * a worker resumes the execution from what the journal holds.
 */
async function handBack(deps: RunDeps, lease: Lease, ctx: WorkflowContextImpl | undefined, fault: unknown): Promise<RunOutcome> {
  if (fault !== undefined) deps.onStorageFault?.(fault);
  if (ctx && !(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  try {
    await releaseExecution(deps.db, lease);
  } catch (err) {
    if (isLeaseLoss(err, deps)) return 'lease-lost';
    return 'retry';
  }
  return fault === undefined ? 'released' : 'retry';
}

/** A step failed TRANSIENTLY with attempts left: completions first, then the durable retry timer. */
async function scheduleRetry(deps: RunDeps, lease: Lease, ctx: WorkflowContextImpl, signal: RetrySignal): Promise<RunOutcome> {
  if (!(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  const { seq, stepKey, attempt, error, delayMs, source } = signal.retry;
  const errorJson = JSON.stringify(storedFailure(error, 'TRANSIENT', source, false));
  // Retried in place (retry_step is idempotent under the token): handing the execution back instead would
  // make it due at once, skipping the backoff and the failure's record.
  await withRetries(() => retryStep(deps.db, lease, { seq, stepKey, attempt, errorJson, delayMs, source }));
  crashPoint('during-retry-wait', stepKey);
  return 'retry-scheduled';
}

/** The step failure the workflow let escape, if `error` is one. */
function stepFailureOf(ctx: WorkflowContextImpl | undefined, error: unknown): StepFailure | undefined {
  const f = ctx?.lastStepFailure;
  return f !== undefined && f.error === error ? f : undefined;
}

/**
 * The workflow ended with an error. PARTIAL (a classifier said so, or steps with compensations completed
 * before it): compensate. Otherwise PERMANENT: roll back to the last valid checkpoint and fail.
 */
async function failOrCompensate(
  deps: RunDeps,
  lease: Lease,
  ctx: WorkflowContextImpl,
  workflow: Workflow,
  error: unknown,
): Promise<RunOutcome> {
  const f = stepFailureOf(ctx, error);
  if (f?.type !== 'PARTIAL' && !ctx.hasUncompensated()) return fail(deps, lease, ctx, error, false);
  if (!(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  const source: FaultSource = f?.source ?? 'step';
  await beginCompensation(deps.db, lease, {
    errorJson: JSON.stringify(storedFailure(error, 'PARTIAL', source, f?.retriesExhausted ?? false)),
    source,
    stepKey: f?.stepKey,
    attempt: f?.attempt,
    retriesExhausted: f?.retriesExhausted ?? false,
  });
  return undo(deps, lease, ctx, workflow);
}

async function undo(deps: RunDeps, lease: Lease, ctx: WorkflowContextImpl, workflow: Workflow): Promise<RunOutcome> {
  const outcome = await runCompensations(
    { db: deps.db, lease, workflow, signal: deps.signal, shouldYield: deps.shouldYield, maxPayloadBytes: deps.maxPayloadBytes },
    ctx.compensations(),
  );
  if (outcome === 'yield') return handBack(deps, lease, undefined, undefined);
  return outcome;
}

/**
 * Records the failure, after the completions of the steps that did complete. A running execution is
 * rolled back to its last valid checkpoint (before a corrupt record, for a data fault); a compensating one
 * fails PARTIAL, as its compensations left it.
 */
async function fail(
  deps: RunDeps,
  lease: Lease,
  ctx: WorkflowContextImpl | undefined,
  err: unknown,
  compensating: boolean,
): Promise<RunOutcome> {
  if (ctx && !(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  const failed = stepFailureOf(ctx, err);
  const corrupt = err instanceof JournalCorruptError;
  const source: FaultSource = corrupt ? 'data' : failed?.source ?? 'step';
  const type: FailureType = compensating ? 'PARTIAL' : 'PERMANENT';
  const lsn = corrupt ? (err.details?.lsn as number | undefined) : undefined;
  try {
    await failExecution(deps.db, lease, {
      errorJson: JSON.stringify(storedFailure(err, type, source, failed?.retriesExhausted ?? false)),
      failureType: type,
      source,
      stepKey: failed?.stepKey,
      attempt: failed?.attempt,
      retriesExhausted: failed?.retriesExhausted ?? false,
      rollbackBeforeLsn: lsn,
    });
  } catch (writeErr) {
    if (isLeaseLoss(writeErr, deps)) return 'lease-lost';
    if (isTransientError(writeErr)) return handBack(deps, lease, undefined, writeErr);
    throw writeErr;
  }
  return 'failed';
}
